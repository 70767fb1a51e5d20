// The command line of the benchmark scripts: `--key=value` and `--flag` options, checked against
// the known names, with one usage message. Exits 2 on a bad argument, 0 for --help.

/** Parses `argv` (process.argv.slice(2)); `known` are the option names, `script` and `usageLine` make the messages. */
export function parseOptions(argv, known, script, usageLine) {
  const usage = (problem) => {
    if (problem) console.error(`${script}: ${problem}`);
    console.error(usageLine);
    process.exit(problem ? 2 : 0);
  };
  const args = Object.fromEntries(
    argv.map((arg) => {
      const match = /^--([\w-]+)(?:=(.*))?$/.exec(arg);
      if (!match) usage(`unknown argument ${arg}`);
      return [match[1], match[2] ?? true];
    }),
  );
  for (const key of Object.keys(args)) if (!known.includes(key)) usage(`unknown option --${key}`);
  if (args.help) usage();
  return { args, usage };
}

/** `a, b,c` as `['a', 'b', 'c']`. */
export function list(value) {
  return String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
