import { CommanderError } from 'commander'
import { maskSecrets } from '../db/startup-errors.js'
import { CliError, EXIT } from './exit.js'
import { buildProgram } from './program.js'

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' })
    return EXIT.ok
  } catch (err) {
    // Commander has printed its own message (or the help) already.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage
    if (err instanceof CliError) {
      process.stderr.write(`shizenha: ${err.message}\n`)
      return err.exitCode
    }
    const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    process.stderr.write(`shizenha: unexpected error: ${maskSecrets(maskSecrets(text, process.env.DATABASE_URL), process.env.DATABASE_MIGRATION_URL)}\n`)
    return EXIT.failure
  }
}

// A closed stdout (`shizenha export ledger | head`) ends the output, not with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok)
  throw err
})

process.exitCode = await run(process.argv.slice(2))
