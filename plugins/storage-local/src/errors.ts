import { defineErrors } from '@parley/core'

/** What the local driver's URLs answer when a request is refused. */
export const localErrors = defineErrors({
  PARLEY_ERR_STORAGE_LOCAL_SIGNATURE: {
    status: 403,
    type: 'forbidden',
    message: 'This storage URL is not valid: its signature does not match',
  },
  PARLEY_ERR_STORAGE_LOCAL_EXPIRED: {
    status: 403,
    type: 'forbidden',
    message: 'This storage URL expired at {expired_at}',
  },
  PARLEY_ERR_STORAGE_LOCAL_CONTENT_TYPE: {
    status: 415,
    type: 'unsupported_media_type',
    message: 'This upload must be sent with Content-Type {expected}',
  },
  PARLEY_ERR_STORAGE_LOCAL_TOO_LARGE: {
    status: 413,
    type: 'payload_too_large',
    message: 'This upload must be exactly {length} bytes; more arrived',
  },
  PARLEY_ERR_STORAGE_LOCAL_LENGTH: {
    status: 400,
    type: 'invalid_request',
    message: 'This upload must be exactly {length} bytes; {received} arrived',
  },
  PARLEY_ERR_STORAGE_LOCAL_ABORTED: {
    status: 400,
    type: 'invalid_request',
    message: 'The upload stopped before its end; nothing was stored',
  },
  PARLEY_ERR_STORAGE_LOCAL_NOT_FOUND: { status: 404, type: 'not_found', message: 'No stored object has this key' },
  PARLEY_ERR_STORAGE_LOCAL_CONFLICT: {
    status: 409,
    type: 'conflict',
    message: 'Key {key} cannot be stored: a folder and an object would have the same name',
  },
})
