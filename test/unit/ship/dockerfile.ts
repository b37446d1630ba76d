/** A small Dockerfile and .dockerignore reader: enough to check what the images are built from, with no Docker. */

export interface Instruction {
  /** upper-case keyword, e.g. COPY */
  op: string;
  /** the rest of the (continuation-joined) line */
  args: string;
  /** heredoc bodies attached to this instruction, by delimiter */
  heredocs: Record<string, string>;
  /** index of the stage (FROM) this instruction belongs to; -1 before the first FROM */
  stage: number;
}

export interface Stage {
  image: string;
  alias?: string;
}

export interface Dockerfile {
  instructions: Instruction[];
  stages: Stage[];
  /** ARG defaults declared before the first FROM */
  globalArgs: Record<string, string>;
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split('\n');
  const instructions: Instruction[] = [];
  const stages: Stage[] = [];
  const globalArgs: Record<string, string> = {};
  let i = 0;
  while (i < lines.length) {
    let line = lines[i] ?? '';
    i++;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      const next = lines[i] ?? '';
      i++;
      if (/^\s*#/.test(next)) continue;
      line += next.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined) throw new Error(`cannot parse Dockerfile line: ${line}`);
    const op = m[1].toUpperCase();
    const args = m[2].trim();
    const heredocs: Record<string, string> = {};
    for (const h of args.matchAll(/<<-?(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/g)) {
      const delim = h[2] as string;
      const body: string[] = [];
      while (i < lines.length && lines[i] !== delim) {
        body.push(lines[i] ?? '');
        i++;
      }
      if (i >= lines.length) throw new Error(`heredoc ${delim} is not terminated`);
      i++;
      heredocs[delim] = `${body.join('\n')}\n`;
    }
    if (op === 'FROM') {
      const fm = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!fm || fm[1] === undefined) throw new Error(`cannot parse FROM ${args}`);
      stages.push({ image: fm[1], ...(fm[2] !== undefined ? { alias: fm[2] } : {}) });
    } else if (op === 'ARG' && stages.length === 0) {
      const am = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(args);
      if (am && am[1] !== undefined) globalArgs[am[1]] = am[2] ?? '';
    }
    instructions.push({ op, args, heredocs, stage: stages.length - 1 });
  }
  return { instructions, stages, globalArgs };
}

/** FROM image with ${ARG} defaults substituted. */
export function resolveImage(df: Dockerfile, image: string): string {
  return image.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => df.globalArgs[name] ?? `\${${name}}`);
}

export interface CopySpec {
  from?: string;
  chmod?: string;
  chown?: string;
  sources: string[];
  dest: string;
  heredoc?: string;
}

export function parseCopy(ins: Instruction): CopySpec {
  const tokens = ins.args.startsWith('[') ? (JSON.parse(ins.args) as string[]) : ins.args.split(/\s+/);
  const spec: CopySpec = { sources: [], dest: '' };
  const rest: string[] = [];
  for (const t of tokens) {
    const flag = /^--([a-z]+)=(.*)$/.exec(t);
    if (flag && rest.length === 0) {
      if (flag[1] === 'from') spec.from = flag[2];
      else if (flag[1] === 'chmod') spec.chmod = flag[2];
      else if (flag[1] === 'chown') spec.chown = flag[2];
      continue;
    }
    rest.push(t);
  }
  spec.dest = rest.pop() ?? '';
  for (const s of rest) {
    const h = /^<<-?(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1$/.exec(s);
    if (h && h[2] !== undefined) spec.heredoc = ins.heredocs[h[2]];
    else spec.sources.push(s);
  }
  return spec;
}

/**
 * .dockerignore semantics as BuildKit applies them (moby/patternmatcher): patterns in order, the last match wins,
 * "!" re-includes, a pattern matching a parent directory matches everything below it, "**" spans directories.
 */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const exclusion = l.startsWith('!');
      const pattern = (exclusion ? l.slice(1) : l).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { exclusion, re: globToRegExp(pattern) };
    });
  return (path: string): boolean => {
    const parts = path.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) {
      if (candidates.some((c) => r.re.test(c))) excluded = !r.exclusion;
    }
    return excluded;
  };
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
