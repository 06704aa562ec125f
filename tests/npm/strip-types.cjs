// This consumer's TypeScript loader for webpack (and, through `stripTypes`, its Rollup plugin):
// esbuild's transform drops the types of main.ts. Any TypeScript set-up works (ts-loader,
// babel, swc); this one avoids a second compiler. Not part of what readset-upload needs.
const { transformSync } = require('esbuild');

function stripTypes(code, file) {
  return transformSync(code, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: file }).code;
}

module.exports = function loader(source) {
  return stripTypes(source, this.resourcePath);
};
module.exports.stripTypes = stripTypes;
