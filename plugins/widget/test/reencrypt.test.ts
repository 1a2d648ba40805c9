import { randomBytes } from 'node:crypto'
import t from 'tap'
import { startMockUpstream } from '@parley/core/testing'
import { createClient, signedRequest, widgetGateway } from './helpers.js'

// After an ENCRYPTION_KEY rotation, `parley re-encrypt-widget-clients` seals every client secret
// with the new key, so the old key can leave ENCRYPTION_KEY_PREVIOUS and signatures still verify.

const hex = () => randomBytes(32).toString('hex')

t.test('re-encrypt-widget-clients reseals the secrets with the current ENCRYPTION_KEY', async t => {
  const upstream = await startMockUpstream()
  t.teardown(upstream.close)
  const [secret, oldKey, newKey] = [hex(), hex(), hex()]
  const secrets = (encryption: string, previous: string[] = []) => ({
    secret_key: secret,
    encryption_key: encryption,
    previous_encryption_keys: previous,
  })
  const first = await widgetGateway(t, { upstream, config: { secrets: secrets(oldKey) } })
  const client = await createClient(first.gateway)
  const database = { path: first.gateway.config.database.path }
  await first.gateway.stop()

  // Without the re-encryption, the old key gone: the secret does not open, the signature is refused (not a 500).
  const unready = await widgetGateway(t, { upstream, channel: false, config: { secrets: secrets(newKey), database } })
  const early = await unready.gateway.inject({
    method: 'POST',
    url: '/api/internal/session/create',
    ...signedRequest(client.client_id, client.secret),
  })
  t.equal(early.statusCode, 401)
  await unready.gateway.stop()

  const rotating = await widgetGateway(t, {
    upstream,
    channel: false,
    config: { secrets: secrets(newKey, [oldKey]), database },
  })
  const command = rotating.gateway.registries.commands.get('re-encrypt-widget-clients')
  t.ok(command, 'the plugin adds the command')
  t.equal(await command?.run([], rotating.gateway), 0)
  await rotating.gateway.stop()

  const after = await widgetGateway(t, { upstream, channel: false, config: { secrets: secrets(newKey), database } })
  const signed = signedRequest(client.client_id, client.secret)
  const session = await after.gateway.inject({ method: 'POST', url: '/api/internal/session/create', ...signed })
  t.equal(session.statusCode, 200, 'the secret opens with the new key alone')
})
