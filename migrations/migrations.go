// Package migrations holds Coffre's database schema as numbered SQL files, embedded in the
// binary and applied in order by 'coffre migrate' (goose), one transaction per file.
//
// Migrations are forward-only: a released file is never edited and there are no down
// sections. To change the schema, add the next numbered file.
package migrations

import "embed"

// FS holds the SQL files, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
