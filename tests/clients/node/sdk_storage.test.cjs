// The unmodified connectycube@6.1.2 SDK's storage module against a running
// Parley node: upload, attach in a group message, download by another
// occupant, info, list, rename, delete; refusals for outsiders.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { instance, within } = require('./parley_sdk.cjs');

test('storage: createAndUpload, attach to a group message, privateUrl for an occupant only, info, list, update, delete', async () => {
  const [a, b, c] = [instance(), instance(), instance()];
  const sa = await a.createSession({ login: 'sdk_alice', password: 'alice-password' });
  const sb = await b.createSession({ login: 'sdk_bob', password: 'bob-password' });
  await c.createSession({ login: 'sdk_carol', password: 'carol-password' });

  const bytes = crypto.randomBytes(300 * 1024);
  const blob = await a.storage.createAndUpload({ name: 'voice note.bin', file: bytes, type: 'application/octet-stream', size: bytes.length, public: false });
  assert.ok(blob.id > 0 && blob.uid, 'the blob has an id and a uid');
  assert.equal(blob.size, bytes.length);
  const info = await a.storage.getInfo(blob.id);
  assert.equal(info.blob.blob_status, 'complete');
  assert.equal(info.blob.size, bytes.length);
  assert.equal(info.blob.public, false);

  // Alice sends it in a group with Bob (not Carol).
  for (const [i, s, pw] of [[a, sa, 'alice-password'], [b, sb, 'bob-password']]) {
    await within(i.chat.connect({ userId: s.user_id, password: pw }), 10000, 'connect');
  }
  const dialog = await a.chat.dialog.create({ type: 2, name: 'files', occupants_ids: [sb.user_id] });
  const got = new Promise((resolve) => { b.chat.onMessageListener = (userId, msg) => resolve(msg); });
  a.chat.send(dialog._id, { type: 'groupchat', body: 'a file', extension: { save_to_history: 1, dialog_id: dialog._id, attachments: [{ uid: blob.uid, type: 'audio' }] } });
  const msg = await within(got, 10000, 'the message with the attachment');
  assert.equal(msg.extension.attachments[0].uid, blob.uid);

  // Bob downloads it with his session token; Carol and anonymous cannot.
  const atB = await fetch(b.storage.privateUrl(blob.uid));
  assert.equal(atB.status, 200);
  assert.ok(Buffer.from(await atB.arrayBuffer()).equals(bytes), 'Bob gets the same bytes');
  const ranged = await fetch(b.storage.privateUrl(blob.uid), { headers: { Range: 'bytes=10-19' } });
  assert.equal(ranged.status, 206);
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(10, 20)), 'a range');
  assert.equal((await fetch(c.storage.privateUrl(blob.uid))).status, 404);
  assert.equal((await fetch(c.storage.publicUrl(blob.uid))).status, 404);
  await assert.rejects(c.storage.getInfo(blob.id), (e) => e.code === 404);

  // Carol cannot send Alice's private file to a dialog of hers.
  const cd = await c.chat.dialog.create({ type: 2, name: 'mine', occupants_ids: [sa.user_id] });
  await assert.rejects(c.chat.message.create({ chat_dialog_id: cd._id, message: 'stolen', attachments: [{ uid: blob.uid, type: 'audio' }] }), (e) => e.code === 422);

  // A public file: anyone reads it at publicUrl.
  const pub = await a.storage.createAndUpload({ name: 'hello.txt', file: Buffer.from('hello, world\n'), type: 'text/plain', size: 13 });
  const open = await fetch(a.storage.publicUrl(pub.uid));
  assert.equal(open.status, 200);
  assert.equal(await open.text(), 'hello, world\n');

  // Pictures: a public image is an avatar and a dialog photo; a private
  // file or a text file is refused.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  const img = await a.storage.createAndUpload({ name: 'me.png', file: png, type: 'image/png', size: png.length, public: true });
  const preview = await fetch(a.storage.publicUrl(img.uid) + '?size=preview');
  assert.equal(preview.status, 200);
  assert.equal(preview.headers.get('content-type'), 'image/png');
  const me = await a.users.update({ avatar: img.uid });
  assert.equal(me.user.avatar, img.uid);
  await assert.rejects(a.users.update({ avatar: blob.uid }), (e) => e.code === 422);
  await assert.rejects(a.users.update({ avatar: pub.uid }), (e) => e.code === 422);
  const photoed = await a.chat.dialog.update(dialog._id, { photo: img.uid });
  assert.equal(photoed.photo, img.uid);

  const list = await a.storage.list({ current_page: 1, per_page: 10 });
  assert.ok(list.items.some((it) => it.blob.id === blob.id), 'list holds the file');
  const renamed = await a.storage.update({ id: blob.id, name: 'renamed.bin' });
  assert.equal(renamed.blob.name, 'renamed.bin');

  await a.storage.delete(blob.id);
  assert.equal((await fetch(b.storage.privateUrl(blob.uid))).status, 404);
  await assert.rejects(a.storage.getInfo(blob.id), (e) => e.code === 404);

  for (const i of [a, b]) await i.chat.disconnect();
});
