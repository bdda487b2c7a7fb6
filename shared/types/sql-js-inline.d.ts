// sql.js's single-file build (WebAssembly embedded): the same API as the package's main entry.
declare module 'sql.js/dist/sql-wasm-inline.js' {
  import initSqlJs from 'sql.js';
  export default initSqlJs;
}
