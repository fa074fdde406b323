// The unmodified connectycube@6.1.2 SDK's data module on a class the
// operator defined (Task: title string, rating integer, tags array; read
// open, update and delete by the owner).
const test = require('node:test');
const assert = require('node:assert/strict');
const { instance } = require('./parley_sdk.cjs');

test('custom objects: create, multi, list with filters, update operators, permissions, delete', async () => {
  const [a, b] = [instance(), instance()];
  const sa = await a.createSession({ login: 'sdk_alice', password: 'alice-password' });
  await b.createSession({ login: 'sdk_bob', password: 'bob-password' });

  const one = await a.data.create('Task', { title: 'write docs', rating: 3, tags: ['work'] });
  assert.ok(one._id);
  assert.equal(one.user_id, sa.user_id);
  const many = await a.data.create('Task', [{ title: 'test', rating: 5 }, { title: 'ship', rating: 8, tags: ['work', 'release'] }]);
  assert.equal(many.items.length, 2);

  const high = await b.data.list('Task', { rating: { gt: 4 }, sort_asc: 'rating' });
  assert.deepEqual(high.items.map((r) => r.title), ['test', 'ship'], 'Bob reads (read is open)');
  const tagged = await b.data.list('Task', { tags: 'release' });
  assert.deepEqual(tagged.items.map((r) => r.title), ['ship']);
  const counted = await b.data.list('Task', { count: 1 });
  assert.equal(counted.items_count, 3);

  const updated = await a.data.update('Task', { _id: one._id, title: 'write the docs', inc: { rating: 2 }, push: { tags: 'today' } });
  assert.equal(updated.rating, 5);
  assert.deepEqual(updated.tags, ['work', 'today']);
  await assert.rejects(b.data.update('Task', { _id: one._id, title: 'mine' }), (e) => e.code === 403);
  const perms = await a.data.readPermissions('Task', one._id);
  assert.equal(perms.permissions.update.access, 'owner');

  await assert.rejects(a.data.create('Task', { title: 'x', rating: 'high' }), (e) => e.code === 422);
  await assert.rejects(a.data.create('Task', { colour: 'red' }), (e) => e.code === 422);
  await assert.rejects(a.data.create('Nope', { title: 'x' }), (e) => e.code === 422);
  await assert.rejects(b.data.list('Task', { rating: { like: 1 } }), (e) => e.code === 422);

  await assert.rejects(b.data.delete('Task', one._id), (e) => e.code === 403);
  await a.data.delete('Task', one._id);
  const gone = await a.data.delete('Task', { rating: { gte: 0 } });
  assert.equal(gone.total_deleted, 2);
  assert.equal((await b.data.list('Task', { count: 1 })).items_count, 0);
});
