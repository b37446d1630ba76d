#!/usr/bin/env node
/**
 * `npm run check:exports`: exported names of bin/, sidecar/, webhook/, stand-ins/ and demo/ that no other file
 * imports (statically, by a destructured dynamic import, or through jest's module mocks). A listed value is
 * dead code or should lose its `export`; a listed type may be a deliberate part of a signature. Not part of
 * `npm test`: it prints, it does not fail. Reads only git-tracked and new untracked .ts files.
 */
import ts from 'typescript';
import { readFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { resolve, dirname, relative } from 'node:path';
const root = process.cwd();
const files = execSync("git ls-files '*.ts' ':!:*.d.ts'", { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean)
  .concat(execSync("git ls-files -o --exclude-standard '*.ts'", { encoding: 'utf8' }).split('\n').filter(Boolean));
const exportsOf = new Map();
const used = new Map();
const key = (f) => resolve(root, f);
for (const f of files) {
  const sf = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
  const ex = [];
  const resolveSpec = (spec) => {
    if (!spec.startsWith('.')) return null;
    return resolve(dirname(key(f)), spec).replace(/\.js$/, '.ts');
  };
  const mark = (target, name) => {
    if (!used.has(target)) used.set(target, new Set());
    used.get(target).add(name);
  };
  const visit = (n) => {
    if (ts.isImportDeclaration(n) || (ts.isExportDeclaration(n) && n.moduleSpecifier)) {
      const t = resolveSpec(n.moduleSpecifier.text);
      if (t) {
        const c = ts.isImportDeclaration(n) ? n.importClause : null;
        if (c) {
          if (c.name) mark(t, 'default');
          const nb = c.namedBindings;
          if (nb) {
            if (ts.isNamespaceImport(nb)) mark(t, '*');
            else for (const e of nb.elements) mark(t, (e.propertyName ?? e.name).text);
          }
        }
        if (ts.isExportDeclaration(n)) {
          if (!n.exportClause) mark(t, '*');
          else for (const e of n.exportClause.elements) mark(t, (e.propertyName ?? e.name).text);
        }
      }
    }
    if (
      ts.isCallExpression(n) &&
      (n.expression.kind === ts.SyntaxKind.ImportKeyword || /mockModule|jest\.mock/.test(n.expression.getText())) &&
      n.arguments[0] &&
      ts.isStringLiteral(n.arguments[0])
    ) {
      const t = resolveSpec(n.arguments[0].text);
      if (t) {
        let p = n.parent;
        if (ts.isAwaitExpression(p)) p = p.parent;
        if (ts.isVariableDeclaration(p) && ts.isObjectBindingPattern(p.name))
          for (const e of p.name.elements) mark(t, (e.propertyName ?? e.name).getText());
        else mark(t, '*');
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  for (const st of sf.statements) {
    const mods = ts.canHaveModifiers(st) ? ts.getModifiers(st) : undefined;
    if (!mods?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) ex.push(d.name.getText());
    else if (st.name) ex.push(st.name.text);
  }
  exportsOf.set(key(f), ex);
}
for (const [f, ex] of exportsOf) {
  const rel = relative(root, f);
  if (!/^(sidecar|webhook|bin|stand-ins|demo)\//.test(rel)) continue;
  const u = used.get(f) ?? new Set();
  if (u.has('*')) continue;
  const unused = ex.filter((e) => !u.has(e));
  if (unused.length) console.log(rel, unused.join(', '));
}
