// Reads {"name": "script", ...} as JSON on stdin and prints, per script,
// whether tree-sitter-powershell found a syntax error, the commands it sees
// with their parameters and elements, in source order, and the tokens that
// tell the PowerShell version apart (variables, operators, type names,
// member names, command names and parameters).
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
  const tokens = [];
  const tokenTypes = new Set(['variable', 'type_identifier', 'simple_name', 'command_name', 'command_parameter', 'generic_token']);
  const walk = (n) => {
    if (n.type === 'ERROR' || n.isMissing) {
      errors.push(`${n.type} at ${n.startPosition.row + 1}:${n.startPosition.column + 1}`);
    }
    if (n.childCount === 0 && (tokenTypes.has(n.type) || (n.parent && n.parent.type === 'comparison_operator'))) {
      tokens.push({ type: n.parent && n.parent.type === 'comparison_operator' ? 'operator' : n.type, text: n.text });
    }
    if (n.type === 'command') {
      const nameNode = n.childForFieldName('command_name');
      const params = [];
      const elements = [];
      const elems = n.childForFieldName('command_elements');
      if (elems) {
        for (const e of elems.namedChildren) {
          if (e.type === 'command_parameter') {
            params.push(e.text.replace(/^-/, '').replace(/:$/, '').toLowerCase());
          }
          if (e.type !== 'command_argument_sep') elements.push(e.text);
        }
      }
      if (nameNode) commands.push({ name: nameNode.text.toLowerCase(), params, elements, pos: n.startIndex });
    }
    for (const c of n.children) walk(c);
  };
  walk(tree.rootNode);
  commands.sort((a, b) => a.pos - b.pos);
  result[name] = { errors, tokens, commands: commands.map(({ name, params, elements }) => ({ name, params, elements })) };
}
process.stdout.write(JSON.stringify(result));
