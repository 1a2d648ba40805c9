/**
 * Object storage for uploads: local disk with HMAC-signed URLs, or S3/COS with presigned URLs.
 * Keys are relative paths like `user-id/conversation-id/images/<uuid>.png`.
 */
export interface ObjectStorage {
  presignPut(key: string, options: { contentType: string; maxBytes: number; expiresInSeconds: number }): Promise<{ url: string; headers: Record<string, string> }>
  presignGet(key: string, options: { expiresInSeconds: number }): Promise<string>
  put(key: string, body: Uint8Array, options: { contentType: string }): Promise<void>
  get(key: string): Promise<{ body: AsyncIterable<Uint8Array>; contentType: string; size: number } | undefined>
  delete(key: string): Promise<void>
  /** For /readyz: rejects when the backend cannot be reached. */
  ping(): Promise<void>
}
