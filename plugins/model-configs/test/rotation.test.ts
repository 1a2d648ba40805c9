import { randomBytes } from 'node:crypto'
import t from 'tap'
import { startMockUpstream } from '@parley/core/testing'
import { boot, member, setQuota } from './helpers.js'

// After an ENCRYPTION_KEY rotation, `parley re-encrypt-model-configs` seals every stored key with
// the new key, so the old one can leave ENCRYPTION_KEY_PREVIOUS and every config still works.

const KEY = 'sk-proj-rotation-key-000000000001'
const hex = () => randomBytes(32).toString('hex')

t.test('re-encrypt-model-configs reseals the keys with the current ENCRYPTION_KEY', async t => {
  const upstream = await startMockUpstream({ keys: [KEY] })
  t.teardown(upstream.close)
  const [secret, oldKey, newKey] = [hex(), hex(), hex()]
  const secrets = (encryption: string, previous: string[] = []) => ({
    secret_key: secret,
    encryption_key: encryption,
    previous_encryption_keys: previous,
  })
  const first = await boot(t, { config: { secrets: secrets(oldKey) } })
  await setQuota(first, 1)
  const alice = await member(first.gateway, 'alice')
  const id = (
    await alice.call('POST', '/api/model-configs', { name: 'Mine', base_url: upstream.url, model: 'm', api_key: KEY })
  ).body.id as number
  const database = { path: first.gateway.config.database.path }
  await first.gateway.stop()

  const rotating = await boot(t, { config: { secrets: secrets(newKey, [oldKey]), database } })
  const command = rotating.gateway.registries.commands.get('re-encrypt-model-configs')
  t.ok(command, 'the plugin adds the command')
  t.equal(await command?.run([], rotating.gateway), 0)
  await rotating.gateway.stop()

  // The old key is gone: the config still opens, its key reaches the upstream.
  const after = await boot(t, { config: { secrets: secrets(newKey), database } })
  const tested = await after.gateway.inject({
    method: 'POST',
    url: `/api/model-configs/${id}/test`,
    headers: { authorization: `Bearer ${alice.session}` },
  })
  t.equal(tested.statusCode, 200, tested.body)
  t.equal(upstream.requests.at(-1)?.apiKey, KEY)

  // Without the command, a key sealed with a key the gateway no longer has is a clear 409.
  await after.gateway.stop()
  const lost = await boot(t, { config: { secrets: secrets(hex()), database } })
  const refused = await lost.gateway.inject({
    method: 'POST',
    url: `/api/model-configs/${id}/test`,
    headers: { authorization: `Bearer ${alice.session}` },
  })
  t.equal(refused.statusCode, 409)
  t.equal(refused.json().error.type, 'model_config_key_unreadable')
})
