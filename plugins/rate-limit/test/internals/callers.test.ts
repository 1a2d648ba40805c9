/** White-box: the counter key of an address, and the refusal messages (languageOf is core's, tested there). */
import t from 'tap'
import { addressKey, refusalMessage } from '@parley/rate-limit'

t.test('addressKey: IPv4 as it is, IPv4-mapped as IPv4, IPv6 by its /64', async t => {
  const cases: Array<[string, string]> = [
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:10.0.0.1', '10.0.0.1'],
    ['2001:db8:1:2::a', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8::', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4::/64'],
  ]
  for (const [ip, key] of cases) t.equal(addressKey(ip), key, ip)
  for (const odd of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'zz::1', '1:2:3', '64:ff9b::300.1.1.1'])
    t.equal(addressKey(odd), odd, `${odd} is not an IPv6 address: kept as it is`)
})

t.test('refusalMessage: the whole message in the language, the seconds those of Retry-After', async t => {
  t.equal(
    refusalMessage('en', 'user', 60, 41_001),
    'Too many requests: your account may send 60 requests per minute; try again in 42 s',
  )
  t.equal(
    refusalMessage('en', 'token', 1, 500),
    'Too many requests: this API token may send 1 request per minute; try again in 1 s',
  )
  t.equal(refusalMessage('zh-CN', 'guest', 10, 200), '请求过于频繁：访客每个地址每分钟最多 10 次请求，请 1 秒后重试')
  t.equal(refusalMessage('zh-CN', 'widget', 20, 60_000), '发送过于频繁：每分钟最多发送 20 条消息，请 60 秒后重试')
})
