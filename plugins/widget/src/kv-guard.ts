import { ParleyError } from '@parley/core'
import { widgetErrors } from './errors.js'

/**
 * A KV read or write on a widget request path: when the store (Redis) fails, the caller gets
 * `503 service_unavailable`, never a 500; the gateway's own refusals pass through.
 */
export async function kvGuard<T>(work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (error) {
    if (error instanceof ParleyError) throw error
    throw widgetErrors.PARLEY_ERR_WIDGET_STORE_DOWN({}, { cause: error })
  }
}
