// The unmodified SDK asks for a password reset e-mail (users.resetPassword)
// after signing in once with the old password; it prints that session's
// token for the Go test, which follows the e-mailed link.
const { instance } = require('./parley_sdk.cjs');

async function main() {
  const old = await instance().createSession({ login: 'reset_eve', password: 'eve-old-password' });
  const app = instance();
  await app.createSession();
  await app.users.resetPassword('eve@example.com');
  console.log(JSON.stringify({ token: old.token }));
}
main().catch((e) => { console.error(e); process.exit(1); });
