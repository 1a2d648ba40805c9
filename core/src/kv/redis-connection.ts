import type { Redis } from 'ioredis'

/** QUIT lets pending replies arrive; a connection that is not up is simply dropped. */
export async function quitRedis(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') {
    connection.disconnect()
    return
  }
  try {
    await connection.quit()
  } catch {
    connection.disconnect()
  }
}
