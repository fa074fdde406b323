// Shared setup of the SDK tests: an SDK instance on the node the Go
// harness started (addresses and credentials in the environment), and a
// timeout for promises that may never settle.
const CB = require('connectycube').default;

const env = process.env;
const config = {
  debug: { mode: 0 },
  endpoints: { api_url: env.PARLEY_HTTP, chat: env.PARLEY_DOMAIN, chat_url: env.PARLEY_WS },
  chat: { reconnect: { enable: false } },
};

// instance returns an SDK instance; chat settings, when given, are added to
// the shared ones.
function instance(chat) {
  const i = new CB.ConnectyCube();
  const c = chat ? { ...config, chat: { ...config.chat, ...chat } } : config;
  i.init({ appId: Number(env.PARLEY_APP_ID), authKey: env.PARLEY_AUTH_KEY }, c);
  return i;
}

function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

module.exports = { instance, within };
