import { once } from 'node:events'
import { createWriteStream, unlinkSync } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import type { Writable } from 'node:stream'

const REDRAW_MS = 200

/**
 * A one-line progress report on stderr, redrawn in place; only when stderr is a terminal, so
 * scripts and logs never see it.
 */
export class Progress {
  private readonly enabled: boolean
  private readonly started = Date.now()
  private lastDraw = 0
  private ticker: NodeJS.Timeout | undefined

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr
  ) {
    this.enabled = stream.isTTY === true
  }

  private seconds(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(0)} s`
  }

  /** Shows `text` (redrawn at most every 200 ms). */
  update(text: string): void {
    if (!this.enabled || Date.now() - this.lastDraw < REDRAW_MS) return
    this.lastDraw = Date.now()
    this.stream.write(`\r\x1b[K${this.label}: ${text} (${this.seconds()})`)
  }

  /** For work that cannot say how far it is: the time it has taken, redrawn each second. */
  tick(): this {
    if (this.enabled) {
      this.ticker = setInterval(() => this.stream.write(`\r\x1b[K${this.label}… ${this.seconds()}`), 1000)
      this.ticker.unref()
    }
    return this
  }

  /** Clears the line. */
  done(): void {
    clearInterval(this.ticker)
    if (this.enabled) this.stream.write('\r\x1b[K')
  }
}

/** Writes every chunk with back-pressure, counting lines. */
export async function writeChunks(
  out: Writable,
  chunks: AsyncIterable<string | Uint8Array> | Iterable<string>,
  onLines: (lines: number) => void
): Promise<void> {
  let lines = 0
  for await (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk)
    for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) lines += 1
    if (!out.write(bytes)) await once(out, 'drain')
    onLines(lines)
  }
}

/**
 * Runs `write` against the file `path` (mode 0600: exports hold personal data), or against
 * stdout without one. A file is written under a temporary name and renamed when complete, so a
 * failed export never leaves a file that looks whole.
 */
export async function toOutput(path: string | undefined, write: (out: Writable) => Promise<void>): Promise<void> {
  if (path === undefined || path === '-') {
    await write(process.stdout)
    return
  }
  const partial = `${path}.partial-${process.pid}`
  const file = createWriteStream(partial, { mode: 0o600 })
  // Ctrl-C leaves no half-written file behind either.
  const interrupted = () => {
    try {
      unlinkSync(partial)
    } catch {
      // not created yet
    }
    process.exit(130)
  }
  process.once('SIGINT', interrupted)
  try {
    await once(file, 'open')
    await write(file)
    file.end()
    await once(file, 'finish')
    await rename(partial, path)
  } catch (err) {
    file.destroy()
    await unlink(partial).catch(() => {})
    throw err
  } finally {
    process.off('SIGINT', interrupted)
  }
}

/** Plain columns, for people; `--json` is there for scripts. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}
