// The unmodified connectycube@6.1.2 SDK's meeting and whiteboard modules:
// a meeting with a chat, seen by its attendee, updated by its host (the
// chat follows), refused to others; recordings; a whiteboard of the chat.
const test = require('node:test');
const assert = require('node:assert/strict');
const { instance } = require('./parley_sdk.cjs');

test('meetings with their chat, and whiteboards', async () => {
  const [a, b, c] = [instance(), instance(), instance()];
  const sa = await a.createSession({ login: 'sdk_alice', password: 'alice-password' });
  const sb = await b.createSession({ login: 'sdk_bob', password: 'bob-password' });
  const sc = await c.createSession({ login: 'sdk_carol', password: 'carol-password' });

  const m = await a.meeting.create({ name: 'Weekly', attendees: [{ id: sb.user_id }, { email: 'guest@example.com' }], chat: true });
  assert.ok(m._id && m.chat_dialog_id, 'a meeting with its chat');
  assert.equal(m.host_id, sa.user_id);
  const seen = await b.meeting.get({ _id: m._id });
  assert.equal(seen[0].name, 'Weekly');
  const dialogs = await b.chat.dialog.list({ _id: m.chat_dialog_id });
  assert.equal(dialogs.items[0].type, 5, 'the chat is a meeting dialog Bob is in');
  await assert.rejects(c.meeting.get({ _id: m._id }), (e) => e.code === 404);
  await assert.rejects(b.meeting.update(m._id, { name: 'Mine now' }), (e) => e.code === 403);

  const moved = await a.meeting.update(m._id, { attendees: [{ id: sc.user_id }] });
  assert.deepEqual(moved.attendees, [{ id: sc.user_id }]);
  const carols = await c.chat.dialog.list({ _id: m.chat_dialog_id });
  assert.equal(carols.items.length, 1, 'the chat follows the attendees');
  assert.deepEqual(await a.meeting.getRecordings(m._id), []);

  const wb = await c.whiteboard.create({ name: 'Plan', chat_dialog_id: m.chat_dialog_id });
  const boards = await a.whiteboard.get(m.chat_dialog_id);
  assert.deepEqual(boards.map((x) => x._id), [wb._id]);
  await assert.rejects(b.whiteboard.get(m.chat_dialog_id), (e) => e.code === 404);
  await c.whiteboard.delete(wb._id);

  await a.meeting.delete(m._id);
  await assert.rejects(a.meeting.get({ _id: m._id }), (e) => e.code === 404);
});
