// Seeds messages with the unmodified connectycube@6.1.2 SDK for the MAM
// check: Alice sends Bob a 1-1 message and a message in a group dialog,
// both saved to history; prints their ids and the room JID as one JSON line.
const { instance, within } = require('./parley_sdk.cjs');

async function main() {
  const [a, b] = [instance(), instance()];
  const sa = await a.createSession({ login: 'sdk_alice', password: 'alice-password' });
  const sb = await b.createSession({ login: 'sdk_bob', password: 'bob-password' });
  await within(a.chat.connect({ userId: sa.user_id, password: 'alice-password' }), 10000, 'alice connect');
  await within(b.chat.connect({ userId: sb.user_id, password: 'bob-password' }), 10000, 'bob connect');
  const dialog = await a.chat.dialog.create({ type: 2, name: 'mam room', occupants_ids: [sb.user_id] });
  const got = [];
  const both = new Promise((resolve) => {
    b.chat.onMessageListener = (_, msg) => { got.push(msg.id); if (got.length === 2) resolve(); };
  });
  const one = a.chat.send(sb.user_id, { type: 'chat', body: 'sdk 1-1', extension: { save_to_history: 1 } });
  const group = a.chat.send(dialog._id, { type: 'groupchat', body: 'sdk group', extension: { save_to_history: 1, dialog_id: dialog._id } });
  await within(both, 10000, 'bob receives both');
  console.log(JSON.stringify({ one, group, room: dialog.xmpp_room_jid }));
  for (const i of [a, b]) await i.chat.disconnect();
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
