/**
 * Bosun's command line. This module only dispatches: each command's code (and help) is loaded
 * when it runs, so `bosun --version` and `bosun --help` answer without loading the scanner.
 *   scan, sbom, inspect   cli/commands.ts
 *   verify                cli/verify.ts
 *   db                    cli/db.ts
 *   cache                 cli/cache.ts
 *   remote                cli/remote.ts
 */
import { closeOutput, drained, print } from './output.js';
import { versionLine } from './version.js';

const COMMANDS = {
  inspect: async (argv: string[]) => (await import('./commands.js')).inspect(argv),
  sbom: async (argv: string[]) => (await import('./commands.js')).sbom(argv),
  scan: async (argv: string[]) => (await import('./commands.js')).scan(argv),
  verify: async (argv: string[]) => (await import('./verify.js')).verify(argv),
  db: async (argv: string[]) => (await import('./db.js')).db(argv),
  cache: async (argv: string[]) => (await import('./cache.js')).cache(argv),
  remote: async (argv: string[]) => (await import('./remote.js')).remote(argv),
} as const;
type Command = keyof typeof COMMANDS;
const isCommand = (c: string | undefined): c is Command =>
  c !== undefined && Object.hasOwn(COMMANDS, c);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    print(await versionLine());
    return 0;
  }
  const { HELP, USAGE } = await import('./help.js');
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = rest[0];
    if (command !== undefined && topic !== undefined && !isCommand(topic)) {
      console.error(
        `bosun: no command ${JSON.stringify(topic)}; one of ${Object.keys(COMMANDS).join(', ')}`,
      );
      return 2;
    }
    // `bosun` alone is a usage error; asking for help is not.
    (command === undefined ? console.error : print)(isCommand(topic) ? HELP[topic] : USAGE);
    return command === undefined ? 2 : 0;
  }
  if (!isCommand(command)) {
    console.error(`bosun: no command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    print(HELP[command]);
    return 0;
  }
  try {
    return await COMMANDS[command](rest);
  } catch (error) {
    // Node's argument parser names the option or value it could not take; the commands' own
    // checks throw UsageError (cli/options.ts). Either is a usage error: exit 2 with a hint.
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const usage = (error as Error).name === 'UsageError';
    if (!code.startsWith('ERR_PARSE_ARGS') && !usage) throw error;
    const line =
      usage && command !== 'db' && command !== 'cache'
        ? `\nusage: bosun ${command} ${command === 'verify' ? '<image> --policy FILE' : command === 'remote' ? '<subcommand>' : '<source>'} [flags]`
        : '';
    console.error(
      `bosun: ${(error as Error).message.split('. ')[0]}${line}\nTry 'bosun ${command} --help'.`,
    );
    return 2;
  }
}

/** Exits once the report is complete and every byte is handed over (a pipe is drained). */
async function exit(code: number): Promise<never> {
  closeOutput(code !== 3);
  await drained();
  process.exit(code);
}

main(process.argv.slice(2)).then(exit, async (error: unknown) => {
  console.error(`bosun: ${error instanceof Error ? error.message : String(error)}`);
  await exit(3);
});
