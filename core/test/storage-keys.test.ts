/**
 * The one rule for storage keys and presign options that every driver applies before it
 * touches its backend.
 */
import t from 'tap'
import {
  checkExpiry,
  checkPresignPut,
  checkStorageKey,
  ParleyError,
  PRESIGN_MAX_SECONDS,
  STORAGE_KEY_MAX_LENGTH,
  storageKeyProblem,
  UPLOAD_MAX_BYTES,
} from '../src/index.js'

t.test('keys the upload API makes are accepted', async t => {
  for (const key of [
    'a',
    'u/42/c/7f3a/images/0b8e4c1e-2f7a-4d0e-9a57-3c1e2b9d8f10.png',
    'parley-probe/x',
    'A_b-c.d/e..f/g.tar.gz',
    '_x/-y',
    'x'.repeat(200),
  ]) {
    t.equal(checkStorageKey(key), key, key.slice(0, 40))
  }
  const long = Array.from({ length: 64 }, () => 'abcdefg').join('/')
  t.equal(long.length, 511)
  t.equal(checkStorageKey(long), long, 'a key up to the length limit')
})

t.test('keys that could escape or surprise are refused with a coded error', async t => {
  const cases: Array<[unknown, RegExp]> = [
    ['', /empty/],
    ['../etc/passwd', /\.\. segment/],
    ['a/../b', /\.\. segment/],
    ['a/./b', /\. or \.\. segment/],
    ['..', /\.\. segment/],
    ['/etc/passwd', /leading \//],
    ['a/', /trailing \//],
    ['a//b', /empty segment/],
    ['a\\b', /backslash/],
    ['..\\..\\windows', /backslash/],
    ['a\u0000b', /control/],
    ['a\nb', /control/],
    ['a\u007fb', /control/],
    ['.hidden', /starts with a dot/],
    ['a/.b.part', /starts with a dot/],
    ['a b', /only A-Z/],
    ['a%2f..', /only A-Z/],
    ['ü.png', /only A-Z/],
    ['a?b', /only A-Z/],
    ['a:b', /only A-Z/],
    ['x'.repeat(STORAGE_KEY_MAX_LENGTH + 1), /at most 512 characters/],
    ['x'.repeat(201), /segment of a key has at most 200/],
    [42, /is a string/],
    [undefined, /is a string/],
  ]
  for (const [key, reason] of cases) {
    t.match(storageKeyProblem(key), reason, JSON.stringify(key)?.slice(0, 40) ?? String(key))
    const error = t.throws(() => checkStorageKey(key)) as ParleyError
    t.ok(error instanceof ParleyError)
    t.equal(error.code, 'PARLEY_ERR_STORAGE_KEY')
    t.equal(error.statusCode, 400)
  }
  const error = t.throws(() => checkStorageKey('a\u0000b')) as ParleyError
  t.match(
    error.message,
    /Storage key "a\\u0000b" is refused: a key has no control characters/,
    'the message shows the key escaped',
  )
})

t.test('presign options: media type, exact length and expiry are checked', async t => {
  const good = { contentType: 'image/png', contentLength: 10, expiresInSeconds: 60 }
  t.same(checkPresignPut(good), good)
  t.same(
    checkPresignPut({
      ...good,
      contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      contentLength: 0,
    }).contentLength,
    0,
  )
  t.same(
    checkPresignPut({ ...good, contentLength: UPLOAD_MAX_BYTES, expiresInSeconds: PRESIGN_MAX_SECONDS })
      .expiresInSeconds,
    PRESIGN_MAX_SECONDS,
  )
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ contentType: 'image/PNG' }, /lower-case media type/],
    [{ contentType: 'text/plain; charset=utf-8' }, /no parameters/],
    [{ contentType: 'image/png\r\nx-evil: 1' }, /media type/],
    [{ contentType: 'png' }, /media type/],
    [{ contentLength: -1 }, /contentLength/],
    [{ contentLength: 1.5 }, /contentLength/],
    [{ contentLength: UPLOAD_MAX_BYTES + 1 }, /contentLength/],
    [{ expiresInSeconds: 0 }, /expiresInSeconds/],
    [{ expiresInSeconds: PRESIGN_MAX_SECONDS + 1 }, /7 days/],
  ]
  for (const [change, reason] of bad) {
    const error = t.throws(() => checkPresignPut({ ...good, ...change } as never)) as ParleyError
    t.equal(error.code, 'PARLEY_ERR_STORAGE_OPTIONS', JSON.stringify(change))
    t.match(error.message, reason)
  }
  t.throws(() => checkExpiry(Number.NaN), { code: 'PARLEY_ERR_STORAGE_OPTIONS' })
})
