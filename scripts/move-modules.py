#!/usr/bin/env python3
"""Moves TypeScript modules (git mv) and rewrites every relative import that pointed at a moved
module, and every relative import inside a moved one, so the tree compiles as before. Run from the
repository root: python3 scripts/move-modules.py OLD.ts=NEW.ts ... (then prettier --write)."""
import os, re, subprocess, sys
root = os.getcwd()
moves = {}
for arg in sys.argv[1:]:
    old, new = arg.split('=')
    moves[os.path.normpath(old)] = os.path.normpath(new)
files = subprocess.run(['git', 'ls-files', '*.ts', '*.mts', '*.cts'], capture_output=True, text=True).stdout.split()
files = [f for f in files if not f.startswith('proto/gen/') and os.path.exists(f)]
SPEC = re.compile(r"""((?:from|import)\s*\(?\s*['"])(\.{1,2}/[^'"]+)(['"])""")
def resolve(spec_dir, spec):
    target = os.path.normpath(os.path.join(spec_dir, spec))
    base, ext = os.path.splitext(target)
    candidates = [target, base + '.ts'] if ext == '.js' else [target]
    return candidates
changed = 0
for f in files:
    new_f = moves.get(f, f)
    src = open(f).read()
    def fix(m):
        spec = m.group(2)
        old_dir = os.path.dirname(f)
        target = os.path.normpath(os.path.join(old_dir, spec))
        base, ext = os.path.splitext(target)
        ts_target = base + '.ts' if ext == '.js' else target
        new_target_ts = moves.get(ts_target, ts_target)
        new_target = os.path.splitext(new_target_ts)[0] + ext if ext == '.js' else moves.get(target, target)
        if new_f == f and new_target_ts == ts_target:
            return m.group(0)
        rel = os.path.relpath(new_target, os.path.dirname(new_f) or '.')
        if not rel.startswith('.'):
            rel = './' + rel
        return m.group(1) + rel + m.group(3)
    out = SPEC.sub(fix, src)
    if out != src:
        open(f, 'w').write(out)
        changed += 1
for old, new in moves.items():
    os.makedirs(os.path.dirname(new), exist_ok=True)
    subprocess.run(['git', 'mv', old, new], check=True)
print(f'{len(moves)} files moved, {changed} files rewritten')
