// The unmodified connectycube@6.1.2 SDK's users module: sign-up with the
// auth key alone, the users.get({...}) lookups, filters and order, and
// who is online.
const test = require('node:test');
const assert = require('node:assert/strict');
const { instance, within } = require('./parley_sdk.cjs');

test('users: sign-up with the auth key, lookups, filters, online', async () => {
  const d = instance();
  const signed = await d.users.signup({ login: 'sdk_dave', password: 'dave-password', full_name: 'Dave Bowman', external_user_id: 'ext-dave', tag_list: 'blue,green' });
  assert.ok(signed.user.id > 0, 'signed up with the CB-AuthKey header alone');

  const a = instance();
  const sa = await a.createSession({ login: 'sdk_alice', password: 'alice-password' });
  const byLogin = await a.users.get({ login: 'sdk_dave' });
  assert.equal(byLogin.user.id, signed.user.id);
  const byExternal = await a.users.get({ external: 'ext-dave' });
  assert.equal(byExternal.user.id, signed.user.id);
  const byName = await a.users.get({ full_name: 'Bowman' });
  assert.equal(byName.total_entries, 1);
  assert.equal(byName.items[0].user.login, 'sdk_dave');
  const byTags = await a.users.get({ tags: 'green' });
  assert.deepEqual(byTags.items.map((it) => it.user.id), [signed.user.id]);
  await assert.rejects(a.users.get({ phone: '+15551234567' }), (e) => e.code === 403); // the app hides contacts
  await assert.rejects(a.users.get({ login: 'nobody_here' }), (e) => e.code === 404);

  const filtered = await a.users.get({ filter: { field: 'login', param: 'in', value: ['sdk_alice', 'sdk_dave'] }, order: { sort: 'desc', field: 'login' }, page: 1, per_page: 10 });
  assert.deepEqual(filtered.items.map((it) => it.user.login), ['sdk_dave', 'sdk_alice']);
  await assert.rejects(a.users.get({ filter: { field: 'created_at', param: 'gt', value: 1 } }), (e) => e.code === 422);

  await within(a.chat.connect({ userId: sa.user_id, password: 'alice-password' }), 10000, 'connect');
  const online = await a.users.listOnline({ limit: 10 });
  assert.ok(online.users.some((u) => u.id === sa.user_id), 'alice is online');
  const count = await a.users.getOnlineCount();
  assert.ok(count.count >= 1, 'the online count');
  await a.chat.disconnect();
});

test('sign-in options: an unconfigured provider and guests are refused by name; auth.login upgrades the app session', async () => {
  const p = instance();
  await assert.rejects(p.createSession({ provider: 'firebase_phone', firebase_phone: { project_id: 'x', access_token: 'y' } }),
    (e) => e.code === 422 && JSON.stringify(e.info ?? e.message ?? e).includes('firebase_phone'));
  await assert.rejects(instance().createSession({ guest: '1', full_name: 'Visitor' }), (e) => e.code === 422);

  const b = instance();
  const appSession = await b.createSession();
  assert.ok(!appSession.user_id, 'an app session');
  const bob = await b.login({ login: 'sdk_bob', password: 'bob-password' }); // resolves with the user
  assert.equal(bob.login, 'sdk_bob');
  // The same token is now Bob's: a user call works, and it is his XMPP password.
  const me = await b.getSession();
  assert.equal(me.user_id, bob.id);
  await within(b.chat.connect({ userId: bob.id, password: appSession.token }), 10000, 'connect with the upgraded token');
  await b.chat.disconnect();
});

test('address book: upload, normalised phones, registered users, the size cap', async () => {
  const z = instance();
  const zoe = await z.users.signup({ login: 'ab_zoe', password: 'zoe-password', phone: '+15550104444' });
  const a = instance();
  await a.createSession({ login: 'sdk_alice', password: 'alice-password' });
  const res = await a.addressbook.uploadAddressBook([{ name: 'Zoe', phone: '+1 (555) 010-4444' }, { name: 'Nobody', phone: '555 0199' }, { name: 'Bad', phone: 'x' }], { udid: 'phone-1' });
  assert.equal(res.created, 2);
  assert.equal(Object.values(res.rejected).flat().length, 1);
  const book = await a.addressbook.get('phone-1');
  assert.deepEqual(book.map((c) => c.phone).sort(), ['+15550104444', '5550199']);
  const registered = await a.addressbook.getRegisteredUsers({ compact: 1, udid: 'phone-1' });
  assert.deepEqual(registered, [{ id: zoe.user.id, phone: '+15550104444' }]);
  const many = Array.from({ length: 1001 }, (_, i) => ({ name: 'n', phone: String(2000000 + i) }));
  await assert.rejects(a.addressbook.uploadAddressBook(many, { udid: 'phone-1' }), (e) => e.code === 422);
});
