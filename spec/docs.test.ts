// docs/API.md is the reference, written by hand; this keeps it true to the package:
// - every export is a heading: the runtime values of `import * as api from 'supervise'`, and every
//   name, type or value, exported by the built dist/lib/index.d.ts (following `export *`);
// - every public member of Supervisor and Task (by their declarations, less `@internal` ones) is a
//   `sup.<member>` / `task.<member>` heading;
// - every field of the option and report interfaces is named (as `field`) in its section, and every
//   member of the string unions (as 'member');
// - a heading naming a bare identifier (### `Foo`) names something that exists: no stale sections;
// - every in-page link (#anchor) leads to a heading.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as mainApi from 'supervise';
import * as testingApi from 'supervise/testing';

// Both entry points: 'supervise' and 'supervise/testing'.
const api: Record<string, unknown> = { ...mainApi, ...testingApi };

const root = new URL('../../', import.meta.url);
const docs = readFileSync(new URL('docs/API.md', root), 'utf8').replace(/```[\s\S]*?```/g, '');
// The declarations built next to this file's own build (dist/lib or dist-esnext/lib).
const declarations = new URL('../lib/', import.meta.url);

interface Heading {
  readonly level: number;
  readonly text: string;
  /** The heading's section: its text up to the next heading of the same or a higher level. */
  readonly section: string;
}

const headings: Heading[] = (() => {
  const lines = docs.split('\n');
  const found: Array<{ level: number; text: string; line: number }> = [];
  lines.forEach((line, index) => {
    const match = /^(#{1,6})\s+(.*)$/.exec(line);
    if (match) found.push({ level: match[1]!.length, text: match[2]!.trim(), line: index });
  });
  return found.map((heading, i) => {
    const next = found.slice(i + 1).find((other) => other.level <= heading.level);
    return { level: heading.level, text: heading.text, section: lines.slice(heading.line, next?.line ?? lines.length).join('\n') };
  });
})();

const word = (name: string) => new RegExp(`(^|[^A-Za-z0-9_$])${name.replace(/[$]/g, '\\$')}([^A-Za-z0-9_$]|$)`);
const headingsNaming = (name: string) => headings.filter((heading) => word(name).test(heading.text));
const strip = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

/** Every name a .d.ts module exports, following `export * from`. */
function exportedNames(file: URL, seen = new Set<string>()): Set<string> {
  const names = new Set<string>();
  if (seen.has(file.href)) return names;
  seen.add(file.href);
  const source = strip(readFileSync(file, 'utf8'));
  for (const [, list] of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of list!.split(',')) {
      const name = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop()!
        .trim();
      if (name !== '') names.add(name);
    }
  }
  for (const [, name] of source.matchAll(
    /export\s+(?:declare\s+)?(?:abstract\s+)?(?:class|function|const|let|var|interface|type|enum|namespace)\s+([A-Za-z_$][\w$]*)/g,
  )) {
    names.add(name!);
  }
  for (const [, name] of source.matchAll(/export\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from/g)) names.add(name!);
  for (const [, from] of source.matchAll(/export\s+\*\s+from\s+['"]([^'"]+)['"]/g)) {
    const target = new URL(from!.replace(/\.js$/, '.d.ts'), file);
    if (existsSync(target)) for (const name of exportedNames(target, seen)) names.add(name);
  }
  return names;
}

/** Declarations of `interface Name`, in whichever module of dist/lib declares it. */
function interfaceBody(name: string): string {
  for (const file of declarationFiles()) {
    const source = strip(readFileSync(file, 'utf8'));
    const start = new RegExp(`export\\s+(?:declare\\s+)?interface\\s+${name}\\b[^{]*\\{`).exec(source);
    if (start === null) continue;
    let depth = 1;
    let i = start.index + start[0].length;
    for (; i < source.length && depth > 0; i++) {
      if (source[i] === '{') depth++;
      else if (source[i] === '}') depth--;
    }
    return source.slice(start.index + start[0].length, i - 1);
  }
  throw new Error(`no declaration of interface ${name} in ${declarations.pathname}`);
}

/** The string members of `type Name = 'a' | 'b' | …`. */
function unionMembers(name: string): string[] {
  for (const file of declarationFiles()) {
    const source = strip(readFileSync(file, 'utf8'));
    const match = new RegExp(`export\\s+(?:declare\\s+)?type\\s+${name}\\s*=([^;]*);`).exec(source);
    if (match) return [...match[1]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
  }
  throw new Error(`no declaration of type ${name} in ${declarations.pathname}`);
}

function declarationFiles(): URL[] {
  const files: URL[] = [];
  // The modules the entry points re-export from, each entry point's.
  for (const entry of ['index.d.ts', 'testing.d.ts']) {
    const file = new URL(entry, declarations);
    files.push(file);
    const source = strip(readFileSync(file, 'utf8'));
    for (const [, from] of source.matchAll(/from\s+['"](\.[^'"]+)['"]/g)) files.push(new URL(from!.replace(/\.js$/, '.d.ts'), file));
  }
  return files.filter((file) => existsSync(file));
}

/** Direct property names of an interface body (depth 0), methods included. */
function fieldNames(body: string): string[] {
  const names: string[] = [];
  let depth = 0;
  for (const line of body.split('\n')) {
    const match = depth === 0 ? /^\s*(?:readonly\s+)?([A-Za-z_$][\w$]*)\??\s*[:(]/.exec(line) : null;
    if (match) names.push(match[1]!);
    for (const char of line) {
      if (char === '{' || char === '(') depth++;
      else if (char === '}' || char === ')') depth--;
    }
  }
  return names;
}

/** The section of the heading that is exactly this identifier in code, e.g. ### `ShutdownReport`. */
function sectionOf(name: string): string {
  const heading = headings.find((h) => h.text === `\`${name}\``);
  assert.ok(heading, `docs/API.md has no heading \`${name}\``);
  return heading.section;
}

/** GitHub's anchor for a heading. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/**
 * The public members of `class Name` in the declarations: no constructor, no computed keys, nothing
 * private, `_`-prefixed or marked `@internal` (such members are public to TypeScript only so that the
 * library's own modules can reach them).
 */
function classMembers(name: string): string[] {
  for (const file of declarationFiles()) {
    const source = readFileSync(file, 'utf8');
    const start = new RegExp(`export\\s+declare\\s+(?:abstract\\s+)?class\\s+${name}\\b[^{]*\\{`).exec(source);
    if (start === null) continue;
    const members: string[] = [];
    let depth = 1;
    let internal = false;
    let inComment = false;
    let comment = '';
    for (let line of source.slice(start.index + start[0].length).split('\n')) {
      if (depth <= 0) break;
      if (inComment || line.includes('/**')) {
        const end = line.indexOf('*/');
        comment += end < 0 ? line : line.slice(0, end);
        inComment = end < 0;
        if (inComment) continue;
        internal = comment.includes('@internal');
        comment = '';
        line = line.slice(end + 2);
        if (line.trim() === '') continue;
      }
      if (depth === 1) {
        const match = /^\s*(?:(?:readonly|static|get|set|async)\s+)*([A-Za-z_$][\w$]*)\??\s*[:(<]/.exec(line);
        if (match && !internal && match[1] !== 'constructor' && !match[1]!.startsWith('_')) members.push(match[1]!);
        if (match || /^\s*\[/.test(line)) internal = false;
      }
      for (const char of line) {
        if (char === '{') depth++;
        else if (char === '}') depth--;
      }
    }
    return [...new Set(members)];
  }
  throw new Error(`no declaration of class ${name} in ${declarations.pathname}`);
}

describe('docs/API.md', () => {
  const typeExports = new Set([...exportedNames(new URL('index.d.ts', declarations)), ...exportedNames(new URL('testing.d.ts', declarations))]);

  it('has a heading for every runtime export of the package', () => {
    const missing = Object.keys(api).filter((name) => headingsNaming(name).length === 0);
    assert.deepEqual(missing, [], `exports without a heading in docs/API.md: ${missing.join(', ')}`);
  });

  it('has a heading for every name exported by dist/lib/index.d.ts, types included', () => {
    assert.ok(typeExports.has('ShutdownReport') && typeExports.has('Supervisor'), `parsed: ${[...typeExports].join(', ')}`);
    for (const value of Object.keys(api)) assert.ok(typeExports.has(value), `${value} is exported at run time but not found in index.d.ts`);
    const missing = [...typeExports].filter((name) => headingsNaming(name).length === 0);
    assert.deepEqual(missing, [], `exported names without a heading in docs/API.md: ${missing.join(', ')}`);
  });

  it('has a heading for every public member of Supervisor and Task', () => {
    const members = [...classMembers('Supervisor').map((name) => `sup.${name}`), ...classMembers('Task').map((name) => `task.${name}`)];
    assert.ok(
      ['sup.spawn', 'sup.done', 'sup.state', 'task.cancel', 'task.id'].every((m) => members.includes(m)),
      members.join(', '),
    );
    const missing = members.filter((member) => !headings.some((h) => new RegExp(`\`${member.replace(/[.$]/g, '\\$&')}(?![\\w$])`).test(h.text)));
    assert.deepEqual(missing, [], `members without a heading: ${missing.join(', ')}`);
    assert.ok(headingsNaming('Symbol.asyncDispose').length > 0, 'a heading for sup[Symbol.asyncDispose]()');
  });

  it('names every field of the option and report types in their sections', () => {
    const missing: string[] = [];
    const interfaces = [
      'SupervisorOptions',
      'ChildOptions',
      'SpawnOptions',
      'RunOptions',
      'ShutdownReport',
      'Straggler',
      'Logger',
      'BackoffOptions',
      'TaskInfo',
      'SupervisorTree',
      'TaskSpawnMessage',
      'TaskSettleMessage',
      'TaskRestartMessage',
      'ShutdownStartMessage',
      'ShutdownPhaseMessage',
      'ShutdownDisposeMessage',
      'ShutdownEndMessage',
      'ProgramUnderTest',
      'RunForTestOptions',
      'Timeline',
      'TimelineEvent',
      'HealthServerOptions',
      'HealthServer',
    ];
    // The adapters' option types with fields of their own (the others only extend GracePeriodOptions).
    const adapterInterfaces = ['GracePeriodOptions', 'StopChildProcessOptions', 'StopWorkerOptions', 'ClosablePool', 'MessageSource'];
    for (const name of [...interfaces, ...adapterInterfaces.filter((name) => typeExports.has(name))]) {
      const section = sectionOf(name);
      const fields = fieldNames(interfaceBody(name));
      assert.ok(fields.length > 0, `no fields parsed for ${name}`);
      for (const field of fields) if (!section.includes(`\`${field}`)) missing.push(`${name}.${field}`);
    }
    assert.deepEqual(missing, [], `fields not named in their section: ${missing.join(', ')}`);
  });

  it('names every member of the string unions in their sections', () => {
    const missing: string[] = [];
    for (const name of ['ShutdownCause', 'TaskState', 'SupervisorState', 'TaskErrorPolicy', 'RestartMode', 'RestartStrategy', 'ShutdownPhase']) {
      const section = sectionOf(name);
      const members = unionMembers(name);
      assert.ok(members.length > 0, `no members parsed for ${name}`);
      for (const member of members) if (!section.includes(`'${member}'`)) missing.push(`${name} '${member}'`);
    }
    assert.deepEqual(missing, [], `union members not named in their section: ${missing.join(', ')}`);
  });

  it('has the exit codes table', () => {
    const section = headings.find((h) => h.text === 'Exit codes')?.section ?? '';
    for (const code of ['`0`', '`1`', '`124`', '`128 + n`', '`130`', '`143`']) assert.ok(section.includes(code), `exit code ${code}`);
  });

  it('documents nothing that does not exist', () => {
    const known = new Set([...typeExports, ...Object.keys(api)]);
    const stale = headings.map((h) => /^`([A-Z][\w$]*)`$/.exec(h.text)?.[1]).filter((name): name is string => name !== undefined && !known.has(name));
    assert.deepEqual(stale, [], `headings for names the package does not export: ${stale.join(', ')}`);
    const members = new Set([...classMembers('Supervisor').map((name) => `sup.${name}`), ...classMembers('Task').map((name) => `task.${name}`)]);
    const unknown = headings
      .map((h) => /^`((?:sup|task)\.[\w$]+)/.exec(h.text)?.[1])
      .filter((member): member is string => member !== undefined && !members.has(member));
    assert.deepEqual(unknown, [], `headings for members that do not exist: ${unknown.join(', ')}`);
  });

  it('links only to headings that exist', () => {
    const anchors = new Set(headings.map((h) => slug(h.text)));
    const broken = [...docs.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!).filter((anchor) => !anchors.has(anchor));
    assert.deepEqual(broken, [], `links to missing anchors: ${broken.join(', ')}`);
  });
});

describe('JSDoc', () => {
  /** The doc comment right before `export … name` in one of the declaration files, or undefined. */
  function docComment(name: string): string | undefined {
    const files = readdirSync(declarations)
      .filter((file) => file.endsWith('.d.ts'))
      .map((file) => new URL(file, declarations));
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      const declaration = new RegExp(
        `\\n(export\\s+(?:declare\\s+)?(?:abstract\\s+)?(?:class|function|const|interface|type)\\s+${name.replace(/[$]/g, '\\$')}\\b)`,
      ).exec(source);
      if (declaration === null) continue;
      const before = source.slice(0, declaration.index).trimEnd();
      if (!before.endsWith('*/')) return undefined;
      return before.slice(before.lastIndexOf('/**'));
    }
    return undefined;
  }

  it('every export of the package has a doc comment with an example', () => {
    const missing = [...exportedNames(new URL('index.d.ts', declarations))].filter((name) => !docComment(name)?.includes('@example'));
    assert.deepEqual(missing, []);
  });
});
