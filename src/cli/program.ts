import { Command, InvalidArgumentError, Option } from 'commander'
import { CHANNELS, PURPOSES, ROLES, type Channel, type Purpose, type Role } from '../policy/vocabulary.js'
import { usageError } from './exit.js'
import { ServiceApi } from './service-api.js'

/** What commander parses from `--json` and `--output`. */
interface JsonFlag {
  readonly json?: boolean
}
interface OutputFlag {
  readonly output?: string
}

const MAIN_HELP = `
How it connects:
  Without --url it works on the service's database itself, as the service would: DATABASE_URL
  (PostgreSQL; DATABASE_SCHEMA), else the embedded database in DATA_DIR (default ./data). Run it
  on the ops host with the service's environment. This is the only way to migrate, and the way to
  create the first admin client when no admin token exists yet. The embedded database belongs to
  one process: while the service runs on it, use --url.
  With --url (or SHIZENHA_URL) it calls the service's HTTP API with the bearer token in
  SHIZENHA_TOKEN (admin; ops may verify, export and read the policy). migrate needs the database.
  checkpoint needs the signing key: the service's (--url), or CHECKPOINT_SIGNING_KEY(_FILE) here.

Exit codes:
  0 done   1 failed, or the answer is no (e.g. verify: the ledger does not verify)
  2 usage error (unknown command or option, bad argument, invalid settings)
  3 cannot connect (database or service unreachable, embedded database in use)

Run it as \`npx shizenha …\` or \`npm run ops -- …\` in the repository; \`node dist/src/cli/main.js …\`
where only the build is (the container image).`

/** A comma-separated list of values from a closed vocabulary. */
function listOf<T extends string>(vocabulary: readonly T[], what: string) {
  return (value: string): T[] => {
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
    const unknown = items.filter((item) => !vocabulary.includes(item as T))
    if (items.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`${what} are ${vocabulary.join(', ')}`)
    return [...new Set(items)] as T[]
  }
}

function integerIn(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`a whole number from ${min} to ${max}`)
    return n
  }
}

function memberId(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new InvalidArgumentError('a member id is 1 to 64 of A-Z a-z 0-9 _ -')
  return value
}

// Commands load what they work with (the database layer, the ledger) only when they run, so
// --help and usage errors answer at once.
const clientsCommands = () => import('./commands/clients.js')
const ledgerCommands = () => import('./commands/ledger.js')

/** The service to call when --url (or SHIZENHA_URL) is given; undefined: work on the database. */
function serviceOf(command: Command): ServiceApi | undefined {
  const { url } = command.optsWithGlobals<{ url?: string }>()
  return url === undefined ? undefined : ServiceApi.connect(url, process.env.SHIZENHA_TOKEN)
}

const json = () => new Option('--json', 'print JSON for scripts instead of text')
const output = () => new Option('-o, --output <file>', 'write to this file (mode 0600, replaced only when complete) instead of stdout')

export function buildProgram(): Command {
  const program = new Command('shizenha')
    .description('Operations for the Co-op Shizenha data-sharing authorization service: migrations, clients, the audit ledger, the policy.')
    .addOption(new Option('--url <url>', 'call the service at this address instead of opening its database (token in SHIZENHA_TOKEN)').env('SHIZENHA_URL'))
    .addHelpText('after', MAIN_HELP)
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.startsWith('error:') ? `shizenha: ${text}` : text) })

  program
    .command('migrate')
    .description('bring the database to the latest migration (creates the embedded database when missing); database only')
    .action(async (_options, command: Command) => {
      if (command.getOptionValueSourceWithGlobals('url') === 'cli') throw usageError('migrate works on the database, not through the service: drop --url')
      await (await import('./commands/migrate.js')).migrateCommand()
    })

  const clients = program.command('clients').description('create, list and revoke the clients that call the service (admin)')
  clients
    .command('create')
    .description('register a client; its token is printed this once')
    .requiredOption('--name <name>', 'who calls, e.g. "billing system"')
    .addOption(new Option('--role <role>', 'admin, ops or system').choices(ROLES).makeOptionMandatory())
    .option('--channels <list>', `system clients: the channels it may use, comma-separated (${CHANNELS.join(', ')})`, listOf<Channel>(CHANNELS, 'channels'))
    .option('--purposes <list>', 'system clients: the purposes it may ask for, comma-separated', listOf<Purpose>(PURPOSES, 'purposes'))
    .option('--rate-limit <perMinute>', 'requests per minute before 429 (default: not throttled)', integerIn(1, 1_000_000))
    .option('--expires-at <time>', 'RFC 3339 with an offset, in the future: the token is refused from then on (default: it does not expire)')
    .option('--entity <id>', 'the legal person whose system this is: the federation (default) or a member co-op, by its id in `GET /v1/entities`')
    .addOption(json())
    .action(
      async (
        options: { name: string; role: Role; channels?: Channel[]; purposes?: Purpose[]; rateLimit?: number; expiresAt?: string; entity?: string } & JsonFlag,
        command: Command
      ) => {
        if (options.name.length < 1 || options.name.length > 200) throw usageError('--name is 1 to 200 characters')
        await (
          await clientsCommands()
        ).createClientCommand(
          {
            name: options.name,
            role: options.role,
            channels: options.channels,
            purposes: options.purposes,
            rateLimit: options.rateLimit,
            expiresAt: options.expiresAt,
            entityId: options.entity
          },
          { json: options.json === true },
          serviceOf(command)
        )
      }
    )
  clients
    .command('list')
    .description('every client, revoked ones included (never their tokens)')
    .option('--active', 'only clients that are not revoked')
    .addOption(json())
    .action(async (options: { active?: boolean } & JsonFlag, command: Command) =>
      (await clientsCommands()).listClientsCommand({ json: options.json === true, active: options.active === true }, serviceOf(command))
    )
  clients
    .command('revoke')
    .description('revoke a client; its token is refused from the next request on (exit 1 when there is no such client)')
    .argument('<id>', 'the client id, as `clients list` shows it')
    .addOption(json())
    .action(async (id: string, options: JsonFlag, command: Command) =>
      (await clientsCommands()).revokeClientCommand(id, { json: options.json === true }, serviceOf(command))
    )

  program
    .command('verify')
    .description('recompute every hash chain of the ledger; exit 1 when it does not verify')
    .option('--incremental', 'start from the last checkpoint a signed verify reached instead of walking every entry')
    .addOption(json())
    .action(async (options: { incremental?: boolean } & JsonFlag, command: Command) =>
      (await ledgerCommands()).verifyCommand({ json: options.json === true, incremental: options.incremental === true }, serviceOf(command))
    )

  const exports = program.command('export').description('export the ledger or a member’s provision records')
  exports
    .command('ledger')
    .description('every entry as JSON Lines, then a trailer with the heads (signed when there is a key); check it with scripts/verify-ledger-export.mjs')
    .addOption(output())
    .action(async (options: OutputFlag, command: Command) => (await ledgerCommands()).exportLedgerCommand({ output: options.output }, serviceOf(command)))
  exports
    .command('provision-records')
    .description("a member's records of third-party provision (APPI Art. 29 / 33(5)), as JSON or CSV for Excel")
    .argument('<memberId>', 'the member number', memberId)
    .addOption(new Option('--format <format>', 'json or csv').choices(['json', 'csv']).default('json'))
    .addOption(new Option('--lang <lang>', 'language of the labels and CSV values (default ja)').choices(['ja', 'en']))
    .addOption(
      new Option('--include <records>', 'third_party (default): what Art. 29 requires; all: with statutory exceptions').choices(['third_party', 'all'])
    )
    .addOption(output())
    .action(async (id: string, options: { format: 'json' | 'csv'; lang?: 'ja' | 'en'; include?: 'third_party' | 'all' } & OutputFlag, command: Command) =>
      (await import('./commands/members.js')).provisionRecordsCommand(
        id,
        { format: options.format, lang: options.lang, include: options.include, output: options.output },
        serviceOf(command)
      )
    )

  program
    .command('policy')
    .description('the policy in force and what it fails to state under APPI (warnings); without --url, the policy this build carries')
    .addOption(new Option('--lang <lang>', 'language of the warnings').choices(['ja', 'en']).default('en'))
    .addOption(json())
    .action(async (options: { lang: 'ja' | 'en' } & JsonFlag, command: Command) =>
      (await import('./commands/policy.js')).policyCommand({ json: options.json === true, lang: options.lang }, serviceOf(command))
    )

  program
    .command('checkpoint')
    .description('sign the heads of every chain now and print the signed note (POST /v1/ledger/checkpoints with --url)')
    .addOption(json())
    .action(async (options: JsonFlag, command: Command) => (await ledgerCommands()).checkpointCommand({ json: options.json === true }, serviceOf(command)))

  return program
}
