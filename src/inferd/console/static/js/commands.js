// "Show the API request": what a button does, as curl and as the inferd CLI, with the credential left as a
// variable (the console never has it, and a page must never show one).

function quote(text) {
  const value = String(text);
  return /^[\w.:\/@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

export function curl(method, url, body) {
  const lines = [`curl -X ${method} "${window.location.origin}${url}"`, `  -H "Authorization: ApiKey $INFERD_API_KEY"`];
  if (body !== undefined && body !== null) {
    lines.push(`  -H "Content-Type: application/json"`);
    lines.push(`  -d ${quote(JSON.stringify(body))}`);
  }
  return lines.join(" \\\n");
}

// `inferd <words> <arguments> --option value ...`; options whose value is null or undefined are left out, `true`
// is a bare flag.
export function cli(words, args, options) {
  const parts = ["inferd", ...words, ...args.map(quote)];
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || value === null || value === "" || value === false) continue;
    parts.push(value === true ? `--${name}` : `--${name} ${quote(value)}`);
  }
  parts.push(`--url ${window.location.origin}`);
  return parts.join(" ");
}
