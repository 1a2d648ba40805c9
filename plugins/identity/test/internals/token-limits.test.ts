import t from 'tap'
import { ParleyError, type EntityManager } from '@parley/core'
import { captureLogs } from '@parley/core/testing'
import { checkTokenLimits, normaliseAllowedIps, QuotaCounter, tokenLimitsOf } from '../../src/token-limits.js'

// An API token's restrictions as each call checks them: what a row without any costs (nothing),
// addresses and ranges in both families, and what a damaged row opens (nothing).

const logs = captureLogs()
const log = logs.logger
const counter = new QuotaCounter(() => ({}) as EntityManager, log)
const row = (fields: Record<string, unknown> = {}) => ({ id: 7, enabled: true, usedTokens: 0, ...fields })
const refusal = (fn: () => void): string | undefined => {
  try {
    fn()
  } catch (error) {
    return error instanceof ParleyError ? error.type : 'not a ParleyError'
  }
  return undefined
}

t.test('a token without restrictions has no limits object at all', async t => {
  t.equal(tokenLimitsOf(row(), counter, log), undefined)
  t.equal(
    tokenLimitsOf(row({ expiresAt: null, models: null, allowedIps: null, rpm: null, quota: null }), counter, log),
    undefined,
  )
})

t.test('addresses and CIDR ranges, IPv4 and IPv6, mapped IPv4 included', async t => {
  const limits = tokenLimitsOf(
    row({ allowedIps: JSON.stringify(['10.0.0.0/8', '203.0.113.7', '2001:db8::/32']) }),
    counter,
    log,
  )
  if (!limits) throw new Error('limits expected')
  for (const ip of ['10.1.2.3', '203.0.113.7', '::ffff:10.9.9.9', '2001:db8::1'])
    t.equal(
      refusal(() => checkTokenLimits(limits, ip)),
      undefined,
      `${ip} is allowed`,
    )
  for (const ip of ['11.0.0.1', '203.0.113.8', '127.0.0.1', '2001:db9::1', '::1'])
    t.equal(
      refusal(() => checkTokenLimits(limits, ip)),
      'ip_not_allowed',
      `${ip} is refused`,
    )
})

t.test('input is checked entry by entry', async t => {
  t.same(normaliseAllowedIps([' 10.0.0.0/8 ', '::1']), ['10.0.0.0/8', '::1'])
  for (const bad of ['10.0.0.0/33', '10.0.0', '2001:db8::/129', 'example.com', '10.0.0.0/8/1', '10.0.0.0/x', ''])
    t.equal(
      refusal(() => normaliseAllowedIps([bad])),
      'invalid_request',
      `${JSON.stringify(bad)} is refused`,
    )
})

t.test('the switch, the expiry and the quota', async t => {
  const off = tokenLimitsOf(row({ enabled: false }), counter, log)
  t.equal(
    refusal(() => off && checkTokenLimits(off, '127.0.0.1')),
    'api_token_disabled',
  )
  const past = tokenLimitsOf(row({ expiresAt: new Date(Date.now() - 1) }), counter, log)
  t.equal(
    refusal(() => past && checkTokenLimits(past, '127.0.0.1')),
    'api_token_expired',
  )
  const future = tokenLimitsOf(row({ expiresAt: new Date(Date.now() + 60_000) }), counter, log)
  t.equal(
    refusal(() => future && checkTokenLimits(future, '127.0.0.1')),
    undefined,
  )
  const quota = tokenLimitsOf(row({ quota: 10, usedTokens: 4 }), counter, log)
  if (!quota?.quota) throw new Error('a quota meter expected')
  t.equal(
    refusal(() => checkTokenLimits(quota, '127.0.0.1')),
    undefined,
    'below the quota',
  )
  quota.quota.add(6)
  t.equal(
    refusal(() => checkTokenLimits(quota, '127.0.0.1')),
    'token_quota_exhausted',
    'used up',
  )
  t.equal(counter.pending(7), 6, 'the used tokens wait for the next flush')
  t.same(quota.principal, { meter: quota.quota }, 'the principal carries the meter only')
})

t.test('a damaged stored list allows nothing, rather than everything', async t => {
  const limits = tokenLimitsOf(row({ models: '{not json', allowedIps: '"10.0.0.0/8"' }), counter, log)
  t.same(limits?.principal.tokenModels, [], 'no model')
  t.equal(
    refusal(() => limits && checkTokenLimits(limits, '10.0.0.1')),
    'ip_not_allowed',
    'no address',
  )
  t.equal(logs.containing('not a JSON list').length, 2, 'and each is logged')
})
