// Reads {"name": "script", ...} as JSON on stdin and prints, per script,
// whether tree-sitter-powershell found a syntax error and the commands it
// sees with their parameters, in source order.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Parser, Language } from 'web-tree-sitter';

const here = dirname(fileURLToPath(import.meta.url));
await Parser.init();
const lang = await Language.load(join(here, 'node_modules/tree-sitter-powershell/tree-sitter-powershell.wasm'));
const parser = new Parser();
parser.setLanguage(lang);

const scripts = JSON.parse(readFileSync(0, 'utf8'));
const result = {};
for (const [name, src] of Object.entries(scripts)) {
  const tree = parser.parse(src);
  const commands = [];
  const errors = [];
  const walk = (n) => {
    if (n.type === 'ERROR' || n.isMissing) {
      errors.push(`${n.type} at ${n.startPosition.row + 1}:${n.startPosition.column + 1}`);
    }
    if (n.type === 'command') {
      const nameNode = n.childForFieldName('command_name');
      const params = [];
      const elems = n.childForFieldName('command_elements');
      if (elems) {
        for (const e of elems.namedChildren) {
          if (e.type === 'command_parameter') {
            params.push(e.text.replace(/^-/, '').replace(/:$/, '').toLowerCase());
          }
        }
      }
      if (nameNode) commands.push({ name: nameNode.text.toLowerCase(), params, pos: n.startIndex });
    }
    for (const c of n.namedChildren) walk(c);
  };
  walk(tree.rootNode);
  commands.sort((a, b) => a.pos - b.pos);
  result[name] = { errors, commands: commands.map(({ name, params }) => ({ name, params })) };
}
process.stdout.write(JSON.stringify(result));
