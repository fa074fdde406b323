// The unmodified connectycube@6.1.2 SDK against a running Parley node.
// The Go harness (tests/clients) starts the node, creates the users and
// passes addresses and credentials in the environment.
const test = require('node:test');
const assert = require('node:assert/strict');
const { instance, within } = require('./parley_sdk.cjs');

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

test('privacy lists, last activity and its subscription, typing', async () => {
  const [a, b] = [instance(), instance()];
  const sa = await a.createSession({ login: 'sdk_alice', password: 'alice-password' });
  const sb = await b.createSession({ login: 'sdk_bob', password: 'bob-password' });
  await within(a.chat.connect({ userId: sa.user_id, password: 'alice-password' }), 10000, 'connect a');
  await within(b.chat.connect({ userId: sb.user_id, password: 'bob-password' }), 10000, 'connect b');
  const at = (inst, name) => new Promise((resolve) => { inst.chat[name] = (...args) => resolve(args); });

  // Typing reaches the peer's listener.
  const typing = at(b, 'onMessageTypingListener');
  a.chat.sendIsTypingStatus(sb.user_id);
  const [isTyping, typer] = await within(typing, 10000, 'typing');
  assert.equal(isTyping, true);
  assert.equal(typer, sa.user_id);

  // Privacy: Alice blocks Bob; his message bounces to onMessageErrorListener.
  await a.chat.privacylist.create({ name: 'no-bob', items: [{ user_id: sb.user_id, action: 'deny' }] });
  await a.chat.privacylist.setAsDefault('no-bob');
  const list = await a.chat.privacylist.getList('no-bob');
  assert.equal(list.items.length, 1);
  assert.equal(Number(list.items[0].user_id), sb.user_id);
  assert.equal(list.items[0].action, 'deny');
  const names = await a.chat.privacylist.getNames();
  assert.equal(names.default, 'no-bob');
  assert.ok(names.names.includes('no-bob'));
  const bounced = at(b, 'onMessageErrorListener');
  const blockedId = b.chat.send(sa.user_id, { type: 'chat', body: 'let me in' });
  const [errId, err] = await within(bounced, 10000, 'blocked message error');
  assert.equal(errId, blockedId);
  assert.equal(err.code, 503);
  await a.chat.privacylist.setAsDefault(null);
  await a.chat.privacylist.delete('no-bob');
  assert.ok(!(await a.chat.privacylist.getNames()).names.includes('no-bob'));

  // Last activity: 0 while online; the subscription fires when Bob logs out.
  const act = await a.chat.getLastUserActivity(sb.user_id);
  assert.equal(act.userId, sb.user_id);
  assert.equal(act.seconds, 0);
  a.chat.subscribeToUserLastActivityStatus(sb.user_id);
  await new Promise((r) => setTimeout(r, 200));
  const changed = at(a, 'onLastUserActivityListener');
  await b.chat.disconnect();
  const [who, seconds] = await within(changed, 10000, 'last activity push');
  assert.equal(who, sb.user_id);
  assert.ok(seconds > 0, `seconds after logout: ${seconds}`);
  await a.chat.disconnect();
});

test('stream management: onSentMessageCallback reports a sent message', async () => {
  const a = instance({ streamManagement: { enable: true } });
  const b = instance();
  const sa = await a.createSession({ login: 'sdk_carol', password: 'carol-password' });
  const sb = await b.createSession({ login: 'sdk_bob', password: 'bob-password' });
  await within(a.chat.connect({ userId: sa.user_id, password: 'carol-password' }), 10000, 'connect');
  await within(b.chat.connect({ userId: sb.user_id, password: 'bob-password' }), 10000, 'connect b');
  const sent = new Promise((resolve, reject) => {
    a.chat.onSentMessageCallback = (lost, ok) => (ok ? resolve(ok) : reject(new Error('reported lost: ' + JSON.stringify(lost))));
  });
  const id = a.chat.send(sb.user_id, { type: 'chat', body: 'acked', extension: { save_to_history: 1 } });
  const ok = await within(sent, 15000, 'onSentMessageCallback');
  assert.equal(ok.id, id);
  await a.chat.disconnect();
  await b.chat.disconnect();
});
