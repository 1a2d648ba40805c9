import t from 'tap'
import type { FastifyRequest, KeyValueStore, Logger } from '@parley/core'
import { AnswerLog } from '../src/answers.js'
import { WidgetSessions } from '../src/sessions.js'

// When the KV store (Redis) fails, widget requests that need it answer 503
// service_unavailable instead of a 500: creating a session, reading one, and resuming an answer.

const broken = new Proxy({} as KeyValueStore, {
  get: () => () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
})
const quiet = { warn() {}, info() {}, error() {}, debug() {} } as unknown as Logger
const token = `pws_${'a'.repeat(43)}`

const refusal = (work: Promise<unknown>) =>
  work.then(
    () => 'resolved',
    (error: unknown) => error,
  )
const unavailable = { statusCode: 503, type: 'service_unavailable' }

t.test('a failing KV store is a 503, not a 500', async t => {
  const sessions = new WidgetSessions(broken, 1800, 'default')
  t.match(
    await refusal(sessions.create({ clientId: 'c1', externalUserId: 'u1', displayName: null })),
    unavailable,
    'creating a session',
  )
  const request = { headers: { authorization: `Bearer ${token}` } } as unknown as FastifyRequest
  t.match(await refusal(sessions.fromRequest(request)), unavailable, 'reading a session')
  const answers = new AnswerLog(broken, 60_000, quiet)
  t.match(await refusal(answers.owner('0b8e1c1e-0000-4000-8000-000000000000')), unavailable, 'resuming an answer')
})
