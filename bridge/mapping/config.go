package mapping

// Config is a provider's `mapping:` block: which userinfo field names the Fuyun agent.
type Config struct {
	// Field is a dotted path into the merged claims, e.g. "email" or "address.phone".
	Field string `yaml:"field"`
	// Fallbacks are tried in order when Field is missing or empty.
	Fallbacks []string `yaml:"fallbacks"`
	// Transform is none | lowercase | strip_domain | e164.
	Transform string `yaml:"transform"`
	// RequireVerified refuses a value whose "<field>_verified" claim (email_verified for email) is not true.
	// nil means the default, true.
	RequireVerified *bool `yaml:"require_verified"`
	// AllowedDomains, when set, limits email-like values to these domains (exact, case-insensitive).
	AllowedDomains []string `yaml:"allowed_domains"`
	// Accounts is an optional CSV "idp_value,fuyun_account_name" table, the text itself; when set, only listed
	// values map. It follows the convention of secrets (a platform-mode tenant's is sealed at rest and shown
	// as {"set": true}): it holds people's addresses.
	Accounts string `yaml:"accounts"`
	// AccountsFile is the file the table is read from when Accounts is empty. The configuration reads it into
	// Accounts and keeps the name for messages.
	AccountsFile string `yaml:"accounts_file"`
	// RequireClaims admits a login only when each listed claim holds one of its values, e.g. Salesforce's
	// organization_id (every org shares one issuer) or Google Workspace's hd.
	RequireClaims []ClaimRule `yaml:"require_claims"`
}

// ClaimRule is one entry of require_claims: the claim at a dotted path must equal one of Values exactly.
type ClaimRule struct {
	Claim  string   `yaml:"claim"`
	Values []string `yaml:"values"`
}
