// Package custos holds the domain of the Custos customer information management
// system: customers and their archives, organisations and staff, the permission
// rules, audit events and the error codes every layer shares. It imports nothing
// else of the project; storage, HTTP and the CLI depend on it, never the reverse.
package custos
