// The unmodified connectycube@6.1.2 SDK against a running Parley node.
// The Go harness (tests/clients) starts the node, creates the users and
// passes addresses and credentials in the environment.
const test = require('node:test');
const assert = require('node:assert/strict');
const CB = require('connectycube').default;

const env = process.env;
const appId = Number(env.PARLEY_APP_ID);
const authKey = env.PARLEY_AUTH_KEY;
const config = {
  debug: { mode: 0 },
  endpoints: { api_url: env.PARLEY_HTTP, chat: env.PARLEY_DOMAIN, chat_url: env.PARLEY_WS },
  chat: { reconnect: { enable: false } },
};

function instance() {
  const i = new CB.ConnectyCube();
  i.init({ appId, authKey }, config);
  return i;
}

function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

test('createSession, chat.connect over ws, 1-1 send and receive', async () => {
  const a = instance();
  const b = instance();
  const sa = await a.createSession({ login: 'sdk_alice', password: 'alice-password' });
  const sb = await b.createSession({ login: 'sdk_bob', password: 'bob-password' });
  assert.ok(sa.token && sa.user_id > 0, 'session has a token and a user id');

  // Alice signs in with her password, Bob with his session token.
  await within(a.chat.connect({ userId: sa.user_id, password: 'alice-password' }), 10000, 'alice connect');
  await within(b.chat.connect({ userId: sb.user_id, password: sb.token }), 10000, 'bob connect');

  const received = new Promise((resolve) => {
    b.chat.onMessageListener = (userId, message) => resolve({ userId, message });
  });
  const id = a.chat.send(sb.user_id, { type: 'chat', body: 'hello from the SDK <&>', extension: { save_to_history: 1, custom: 'x' } });
  const { userId, message } = await within(received, 10000, 'message at bob');
  assert.equal(userId, sa.user_id);
  assert.equal(message.body, 'hello from the SDK <&>');
  assert.equal(message.id, id);
  assert.equal(message.extension.custom, 'x');

  // Ping round trip.
  await within(a.chat.pingWithTimeout(5000), 6000, 'ping');

  await a.chat.disconnect();
  await b.chat.disconnect();
});

test('wrong password is refused', async () => {
  const a = instance();
  const sa = await a.createSession({ login: 'sdk_alice', password: 'alice-password' });
  await assert.rejects(within(a.chat.connect({ userId: sa.user_id, password: 'wrong-password' }), 10000, 'refusal'));
  try { await a.chat.disconnect(); } catch (_) {}
});

test('group dialog: send without joining, history, read status, edit, reaction, delete', async () => {
  const [a, b, c] = [instance(), instance(), instance()];
  const sa = await a.createSession({ login: 'sdk_alice', password: 'alice-password' });
  const sb = await b.createSession({ login: 'sdk_bob', password: 'bob-password' });
  const sc = await c.createSession({ login: 'sdk_carol', password: 'carol-password' });
  for (const [i, s, pw] of [[a, sa, 'alice-password'], [b, sb, 'bob-password'], [c, sc, 'carol-password']]) {
    await within(i.chat.connect({ userId: s.user_id, password: pw }), 10000, 'connect');
  }
  const dialog = await a.chat.dialog.create({ type: 2, name: 'sdk group', occupants_ids: [sb.user_id, sc.user_id] });
  assert.equal(dialog.type, 2);
  assert.deepEqual([...dialog.occupants_ids].sort(), [sa.user_id, sb.user_id, sc.user_id].sort());

  const at = (inst, name) => new Promise((resolve) => {
    inst.chat[name] = (...args) => resolve(args);
  });
  const gotB = at(b, 'onMessageListener');
  const gotC = at(c, 'onMessageListener');
  const id = a.chat.send(dialog._id, { type: 'groupchat', body: 'group hi', extension: { save_to_history: 1, dialog_id: dialog._id } });
  for (const got of [gotB, gotC]) {
    const [userId, msg] = await within(got, 10000, 'group message');
    assert.equal(userId, sa.user_id);
    assert.equal(msg.id, id);
    assert.equal(msg.dialog_id, dialog._id);
    assert.equal(msg.body, 'group hi');
    assert.ok(msg.extension.date_sent, 'server stamps date_sent');
  }

  const page = await b.chat.message.list({ chat_dialog_id: dialog._id, sort_desc: 'date_sent', limit: 10, mark_as_read: 0 });
  assert.equal(page.items[0]._id, id);
  const unread = async (inst) => (await inst.chat.dialog.list({ _id: dialog._id })).items[0].unread_messages_count;
  assert.equal(await unread(b), 1);

  const readAtA = at(a, 'onReadStatusListener');
  b.chat.sendReadStatus({ messageId: id, userId: sa.user_id, dialogId: dialog._id });
  const [readId, readDialog, reader] = await within(readAtA, 10000, 'read status');
  assert.deepEqual([readId, readDialog, reader], [id, dialog._id, sb.user_id]);
  assert.equal(await unread(b), 0);
  assert.equal(await unread(c), 1);

  const updated = at(b, 'onMessageUpdateListener');
  a.chat.editMessage({ to: dialog._id, dialogId: dialog._id, body: 'group hi (edited)', originMessageId: id, last: true });
  const [updId, , updBody] = await within(updated, 10000, 'edit');
  assert.equal(updId, id);
  assert.equal(updBody, 'group hi (edited)');

  const reacted = at(a, 'onMessageReactionsListener');
  await b.chat.message.addReaction(id, '👍');
  const [rId, rUser, rDialog, rAdd] = await within(reacted, 10000, 'reaction');
  assert.deepEqual([rId, rUser, rDialog, rAdd], [id, sb.user_id, dialog._id, '👍']);

  const deleted = at(c, 'onMessageDeleteListener');
  a.chat.deleteMessage({ to: dialog._id, dialogId: dialog._id, messageId: id });
  const [delId, delDialog] = await within(deleted, 10000, 'delete');
  assert.deepEqual([delId, delDialog], [id, dialog._id]);
  const after = await c.chat.message.list({ chat_dialog_id: dialog._id, mark_as_read: 0 });
  assert.equal(after.items.length, 0);

  for (const i of [a, b, c]) await i.chat.disconnect();
});
