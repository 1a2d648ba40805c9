/**
 * Request headers a channel's extra `headers` setting may not set: the gateway sends the key
 * (and no channel may add another credential beside it), and the connection and framing
 * headers are the HTTP client's. Checked when a channel is saved (catalog/channels.ts) and
 * skipped again when a provider sends (plugins/openai).
 */
export const RESERVED_UPSTREAM_HEADERS: ReadonlySet<string> = new Set([
  // credentials
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'cookie',
  // hop-by-hop (RFC 9110 §7.6.1) and framing
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'expect',
  // what the gateway negotiates itself
  'accept',
  'accept-encoding',
])

/** Whether a channel may not set this header (any case). */
export function reservedUpstreamHeader(name: string): boolean {
  return RESERVED_UPSTREAM_HEADERS.has(name.toLowerCase())
}
