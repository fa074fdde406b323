// The unmodified SDK asks for a password reset e-mail (users.resetPassword)
// after signing in once with the old password; it prints that session's
// token for the Go test, which follows the e-mailed link.
const CB = require('connectycube').default;

const env = process.env;
async function main() {
  const i = new CB.ConnectyCube();
  i.init({ appId: Number(env.PARLEY_APP_ID), authKey: env.PARLEY_AUTH_KEY }, { debug: { mode: 0 }, endpoints: { api_url: env.PARLEY_HTTP } });
  const old = await i.createSession({ login: 'reset_eve', password: 'eve-old-password' });
  const app = new CB.ConnectyCube();
  app.init({ appId: Number(env.PARLEY_APP_ID), authKey: env.PARLEY_AUTH_KEY }, { debug: { mode: 0 }, endpoints: { api_url: env.PARLEY_HTTP } });
  await app.createSession();
  await app.users.resetPassword('eve@example.com');
  console.log(JSON.stringify({ token: old.token }));
}
main().catch((e) => { console.error(e); process.exit(1); });
