/**
 * SecretBox: AES-256-GCM sealing of secrets at rest, bound to their row, with key rotation;
 * maskSecret: the hints shown instead of keys.
 */
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { maskSecret, SecretBox } from '../src/catalog/secret-box.js'
import { loadConfig } from '../src/config/load.js'
import { resolveSecrets } from '../src/config/secrets.js'
import { ParleyError } from '../src/errors.js'
import { createLogger } from '../src/log.js'

const KEY_A = Buffer.alloc(32, 0xa1)
const KEY_B = Buffer.alloc(32, 0xb2)
const PLAINTEXT = 'sk-live-PLAINTEXT-0123456789'
const CONTEXT = 'channel-key:7f1c2d3e-0000-4000-8000-000000000001'
const SEALED = /^v1\.([0-9a-f]{8})\.([A-Za-z0-9_-]+)$/

/** Runs `open`, which must throw a ParleyError with `code` that leaks nothing it was given. */
function refusal(
  t: Test,
  open: () => unknown,
  code: string,
  leaks: readonly string[],
  label: string,
): ParleyError | undefined {
  try {
    open()
  } catch (error) {
    if (!(error instanceof ParleyError)) {
      t.fail(`${label}: expected a ParleyError, got ${String(error)}`)
      return undefined
    }
    t.equal(error.code, code, label)
    t.equal(error.statusCode, 500, `${label}: status`)
    t.equal(error.type, 'internal_error', `${label}: type`)
    t.equal(error.cause, undefined, `${label}: no cause that a logger could print`)
    for (const leak of leaks) if (leak && error.message.includes(leak)) t.fail(`${label}: message contains ${leak}`)
    return error
  }
  t.fail(`${label}: expected ${code}, but it opened`)
  return undefined
}

/** Everything a refusal must never print: plaintext, the sealed value and its parts, the keys. */
function leaksOf(sealed: string, ...keys: Buffer[]): string[] {
  const payload = sealed.split('.')[2] ?? ''
  return [PLAINTEXT, sealed, payload, ...keys.flatMap(key => [key.toString('hex'), key.toString('base64')])]
}

function payloadOf(sealed: string): Buffer {
  return Buffer.from(sealed.split('.')[2] ?? '', 'base64url')
}

t.test('seal and open round-trip any text', async t => {
  const box = new SecretBox(KEY_A, [])
  for (const text of [PLAINTEXT, '', 'x', '密钥 🔑 with unicode', 'k'.repeat(10_000)]) {
    const sealed = box.seal(text, CONTEXT)
    t.match(sealed, SEALED, 'v1.<key id>.<base64url>')
    // Short texts may turn up in random base64 by chance; longer ones must not be visible.
    if (text.length >= 8) t.notOk(sealed.includes(text), 'the plaintext is not visible in the sealed string')
    t.equal(box.open(sealed, CONTEXT), text, `${text.slice(0, 20)} (${text.length})`)
  }
})

t.test('every seal uses a fresh 12-byte nonce, so equal plaintexts seal differently', async t => {
  const box = new SecretBox(KEY_A, [])
  const first = box.seal(PLAINTEXT, CONTEXT)
  const second = box.seal(PLAINTEXT, CONTEXT)
  t.not(first, second)
  const bytes = Buffer.byteLength(PLAINTEXT)
  for (const sealed of [first, second])
    t.equal(payloadOf(sealed).length, 12 + bytes + 16, 'nonce ‖ ciphertext ‖ 16-byte tag')
  t.notSame(payloadOf(first).subarray(0, 12), payloadOf(second).subarray(0, 12), 'the nonces differ')
  const nonces = new Set(
    Array.from({ length: 200 }, () => payloadOf(box.seal('same', CONTEXT)).subarray(0, 12).toString('hex')),
  )
  t.equal(nonces.size, 200, 'no nonce repeats over 200 seals')
})

t.test('a value opens only in the context it was sealed for (its row)', async t => {
  const box = new SecretBox(KEY_A, [])
  const sealed = box.seal(PLAINTEXT, CONTEXT)
  for (const other of [
    'channel-key:7f1c2d3e-0000-4000-8000-000000000002',
    `${CONTEXT} `,
    CONTEXT.slice(0, -1),
    '',
    `channel-setting:${CONTEXT}`,
  ]) {
    refusal(
      t,
      () => box.open(sealed, other),
      'PARLEY_ERR_SECRET_UNREADABLE',
      leaksOf(sealed, KEY_A),
      `context ${JSON.stringify(other)}`,
    )
  }
  t.equal(box.open(sealed, CONTEXT), PLAINTEXT, 'still opens in its own context')
})

t.test('every single-bit flip is refused', async t => {
  const box = new SecretBox(KEY_A, [])
  const sealed = box.seal(PLAINTEXT, CONTEXT)
  const [version, keyId] = sealed.split('.') as [string, string]
  const payload = payloadOf(sealed)

  const opened: string[] = []
  let flips = 0
  for (let byte = 0; byte < payload.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      const flipped = Buffer.from(payload)
      flipped[byte] = (flipped[byte] as number) ^ (1 << bit)
      const tampered = `${version}.${keyId}.${flipped.toString('base64url')}`
      flips++
      try {
        box.open(tampered, CONTEXT)
        opened.push(`byte ${byte} bit ${bit}`)
      } catch (error) {
        if ((error as ParleyError).code !== 'PARLEY_ERR_SECRET_UNREADABLE')
          opened.push(`byte ${byte} bit ${bit}: ${String(error)}`)
        else if ((error as ParleyError).message.includes(PLAINTEXT))
          opened.push(`byte ${byte} bit ${bit}: plaintext in message`)
      }
    }
  }
  t.equal(flips, payload.length * 8)
  t.same(opened, [], `all ${flips} payload bit flips (nonce, ciphertext, tag) refused`)

  // The string as stored: flips in the header or the encoding are refused too, never misread.
  const misread: string[] = []
  for (let index = 0; index < sealed.length; index++) {
    for (let bit = 0; bit < 7; bit++) {
      const tampered =
        sealed.slice(0, index) + String.fromCharCode(sealed.charCodeAt(index) ^ (1 << bit)) + sealed.slice(index + 1)
      try {
        box.open(tampered, CONTEXT)
        misread.push(`char ${index} bit ${bit}`)
      } catch (error) {
        const code = (error as ParleyError).code
        if (code !== 'PARLEY_ERR_SECRET_UNREADABLE' && code !== 'PARLEY_ERR_SECRET_UNKNOWN_KEY')
          misread.push(`char ${index} bit ${bit}: ${String(error)}`)
      }
    }
  }
  t.same(misread, [], `all ${sealed.length * 7} bit flips of the stored string refused with a coded error`)
})

t.test('truncated, garbage and other-version strings are refused with a coded error that leaks nothing', async t => {
  const box = new SecretBox(KEY_A, [])
  const sealed = box.seal(PLAINTEXT, CONTEXT)
  const [, keyId, payload] = sealed.split('.') as [string, string, string]
  const leaks = leaksOf(sealed, KEY_A)

  const truncated = Array.from({ length: sealed.length }, (_, length) => sealed.slice(0, length))
  for (const value of truncated)
    refusal(t, () => box.open(value, CONTEXT), 'PARLEY_ERR_SECRET_UNREADABLE', leaks, `truncated to ${value.length}`)
  refusal(
    t,
    () => box.open(`v1.${keyId}.${payload.slice(1)}`, CONTEXT),
    'PARLEY_ERR_SECRET_UNREADABLE',
    leaks,
    'payload missing its first character',
  )
  refusal(
    t,
    () => box.open(`v1.${keyId}.${payloadOf(sealed).subarray(0, 27).toString('base64url')}`, CONTEXT),
    'PARLEY_ERR_SECRET_UNREADABLE',
    leaks,
    'shorter than nonce and tag',
  )

  const garbage: Array<[string, string]> = [
    ['empty', ''],
    ['plain text', PLAINTEXT],
    ['other version', `v2.${keyId}.${payload}`],
    ['version in capitals', `V1.${keyId}.${payload}`],
    ['no version', `${keyId}.${payload}`],
    ['extra segment', `${sealed}.x`],
    ['key id in capitals', `v1.${keyId.toUpperCase()}.${payload}`],
    ['short key id', `v1.${keyId.slice(1)}.${payload}`],
    ['padded base64', `${sealed}==`],
    ['standard base64 alphabet', `v1.${keyId}.${payloadOf(sealed).toString('base64')}+/`],
    ['whitespace', ` ${sealed}`],
    ['line break inside', `v1.${keyId}.${payload.slice(0, 10)}\n${payload.slice(10)}`],
    ['JSON', JSON.stringify({ sealed })],
  ]
  for (const [name, value] of garbage)
    refusal(t, () => box.open(value, CONTEXT), 'PARLEY_ERR_SECRET_UNREADABLE', leaks, name)

  const version = refusal(
    t,
    () => box.open(`v9.${keyId}.${payload}`, CONTEXT),
    'PARLEY_ERR_SECRET_UNREADABLE',
    leaks,
    'v9',
  )
  t.match(version?.message, 'format version is not supported')
  t.equal(box.open(sealed, CONTEXT), PLAINTEXT, 'the original still opens')
})

t.test('non-canonical base64url (the same bytes spelled differently) is refused', async t => {
  const box = new SecretBox(KEY_A, [])
  // 12 + 4 + 16 = 32 bytes encode to 43 characters, whose last one carries 2 unused bits.
  const sealed = box.seal('abcd', CONTEXT)
  const last = sealed.at(-1) as string
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const value = alphabet.indexOf(last)
  const sibling = alphabet[value ^ 1] as string
  const twin = sealed.slice(0, -1) + sibling
  t.same(
    Buffer.from(twin.split('.')[2] ?? '', 'base64url'),
    payloadOf(sealed),
    'Node decodes both spellings to the same bytes',
  )
  refusal(
    t,
    () => box.open(twin, CONTEXT),
    'PARLEY_ERR_SECRET_UNREADABLE',
    leaksOf(sealed, KEY_A),
    'non-canonical spelling',
  )
})

t.test('keyId: short, stable for a key, different between keys, and not the key', async t => {
  const a = new SecretBox(KEY_A, [])
  t.match(a.keyId, /^[0-9a-f]{8}$/)
  t.equal(
    new SecretBox(Buffer.from(KEY_A), [KEY_B]).keyId,
    a.keyId,
    'the same key gives the same id, whatever the previous keys',
  )
  t.not(new SecretBox(KEY_B, [KEY_A]).keyId, a.keyId)
  const random = Array.from({ length: 50 }, () => new SecretBox(randomBytes(32), []).keyId)
  t.equal(new Set(random).size, 50, '50 random keys, 50 ids')
  t.notOk(KEY_A.toString('hex').includes(a.keyId), 'the id is not a piece of the key')
  t.match(a.seal(PLAINTEXT, CONTEXT), `v1.${a.keyId}.`, 'sealed values carry the id')
})

t.test('rotation: A-sealed values open under B with A as previous, and reseal moves them to B', async t => {
  const onA = new SecretBox(KEY_A, [])
  const sealedA = onA.seal(PLAINTEXT, CONTEXT)
  t.ok(onA.isCurrent(sealedA))

  const rotating = new SecretBox(KEY_B, [KEY_A])
  t.equal(rotating.open(sealedA, CONTEXT), PLAINTEXT, 'a previous key opens what it sealed')
  t.notOk(rotating.isCurrent(sealedA), 'the re-encrypt command sees it needs work')
  const sealedB = rotating.reseal(sealedA, CONTEXT)
  t.ok(rotating.isCurrent(sealedB))
  t.match(sealedB, `v1.${rotating.keyId}.`)
  t.ok(rotating.isCurrent(rotating.seal(PLAINTEXT, CONTEXT)), 'new values are sealed with the current key')
  refusal(
    t,
    () => rotating.reseal(sealedA, 'channel-key:another-row'),
    'PARLEY_ERR_SECRET_UNREADABLE',
    leaksOf(sealedA, KEY_A, KEY_B),
    'reseal keeps the row binding',
  )

  const onB = new SecretBox(KEY_B, [])
  t.equal(onB.open(sealedB, CONTEXT), PLAINTEXT, 'after rotation the old key can be removed')
  const unknown = refusal(
    t,
    () => onB.open(sealedA, CONTEXT),
    'PARLEY_ERR_SECRET_UNKNOWN_KEY',
    leaksOf(sealedA, KEY_A, KEY_B),
    'A-sealed under B alone',
  )
  t.match(unknown?.message, onA.keyId, 'names the missing key by its id')
  t.match(unknown?.message, 'ENCRYPTION_KEY_PREVIOUS', 'says how to fix it')
  refusal(
    t,
    () => onA.open(sealedB, CONTEXT),
    'PARLEY_ERR_SECRET_UNKNOWN_KEY',
    leaksOf(sealedB, KEY_A, KEY_B),
    'B-sealed under A',
  )
})

t.test('isCurrent answers false for anything not sealed with the current key', async t => {
  const box = new SecretBox(KEY_A, [])
  const keyId = box.keyId
  for (const value of [
    '',
    'garbage',
    `v2.${keyId}.AAAA`,
    `${keyId}.v1.AAAA`,
    `v1.${keyId.toUpperCase()}.AAAA`,
    new SecretBox(KEY_B, []).seal('x', CONTEXT),
  ]) {
    t.notOk(box.isCurrent(value), JSON.stringify(value.slice(0, 20)))
  }
})

t.test('construction: keys must be 32 bytes; the current key listed as previous too is harmless', async t => {
  for (const [name, current, previous] of [
    ['short current key', Buffer.alloc(16), []],
    ['long previous key', KEY_A, [Buffer.alloc(33)]],
  ] as const) {
    t.throws(() => new SecretBox(current, previous), { code: 'PARLEY_ERR_CONFIG_SECRETS', message: /32 bytes/ }, name)
  }
  const box = new SecretBox(KEY_A, [KEY_A, KEY_B])
  t.equal(box.open(new SecretBox(KEY_B, []).seal(PLAINTEXT, CONTEXT), CONTEXT), PLAINTEXT)
  t.equal(box.open(box.seal(PLAINTEXT, CONTEXT), CONTEXT), PLAINTEXT)
})

t.test('a key changed after construction does not change the box', async t => {
  const key = Buffer.from(KEY_A)
  const box = new SecretBox(key, [])
  const sealed = box.seal(PLAINTEXT, CONTEXT)
  key.fill(0)
  t.equal(box.open(sealed, CONTEXT), PLAINTEXT)
})

t.test('fromSecrets: ENCRYPTION_KEY and ENCRYPTION_KEY_PREVIOUS from config', async t => {
  const sealedA = new SecretBox(KEY_A, []).seal(PLAINTEXT, CONTEXT)
  const config = loadConfig({
    file: false,
    cwd: t.testdir({}),
    env: {
      SECRET_KEY: 'k'.repeat(40),
      ENCRYPTION_KEY: KEY_B.toString('hex'),
      ENCRYPTION_KEY_PREVIOUS: `${KEY_A.toString('base64')}, ${randomBytes(32).toString('hex')}`,
    },
  })
  const box = SecretBox.fromSecrets(resolveSecrets(config, createLogger({ log: { level: 'silent' } })))
  t.equal(box.keyId, new SecretBox(KEY_B, []).keyId)
  t.equal(box.open(sealedA, CONTEXT), PLAINTEXT)
  t.ok(box.isCurrent(box.reseal(sealedA, CONTEXT)))

  const handMade = SecretBox.fromSecrets({ secretKey: 'k'.repeat(40), encryptionKey: KEY_B })
  refusal(
    t,
    () => handMade.open(sealedA, CONTEXT),
    'PARLEY_ERR_SECRET_UNKNOWN_KEY',
    leaksOf(sealedA, KEY_A, KEY_B),
    'secrets without previous keys',
  )
})

t.test('maskSecret: a recognisable prefix and the last 4 characters, or the last 2 of a short secret', async t => {
  const cases: Array<[string, string]> = [
    ['sk-proj-Abcdefghijklmnopqrstuvwx1234', 'sk-…1234'],
    ['sk-abcdefghijklmnopqrstuvwxyzabcd', 'sk-…abcd'],
    ['sk_live_0123456789abcdefWXYZ', 'sk_…WXYZ'],
    ['gsk_0123456789abcdefghijklmn', 'gsk_…klmn'],
    ['xai-0123456789abcdefghijklmn', 'xai-…klmn'],
    ['AIzaSyD-0123456789abcdefghijklmnopq', '…nopq'],
    ['0123456789abcdef0123456789abcdef', '…cdef'],
    ['abcd-efghijklmnop', '…mnop'],
    ['sk-abcdefghi', 'sk-…fghi'],
    ['sk-abcdefgh', '…gh'],
    ['short-key', '…ey'],
    ['x', '…x'],
    ['', '…'],
    ['密钥密钥密钥密钥密钥密钥🔑', '…钥密钥🔑'],
  ]
  for (const [secret, hint] of cases) t.equal(maskSecret(secret), hint, JSON.stringify(secret))
  const long = `sk-${randomBytes(64).toString('hex')}`
  t.equal(maskSecret(long), `sk-…${long.slice(-4)}`)
  t.ok(maskSecret(long).length <= 9, 'short enough for the 32-character hint column')
})
