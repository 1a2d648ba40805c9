/**
 * Polls `check` until it holds: the catalog snapshot, the usage writer and a page's script all
 * catch up asynchronously, and a fixed sleep would be either flaky or slow.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what = 'condition',
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}
