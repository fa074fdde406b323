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
