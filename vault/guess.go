package vault

import (
	"context"
	"crypto/sha256"
	"net/netip"
)

// GuessLimit is how many unknown capability tokens (share links) one network may present
// within ThrottleWindow before it must wait LockDuration. Tokens carry 256 bits, so this
// is not what keeps them safe: it keeps scanners from filling the logs and the journal.
const GuessLimit = 30

func guessKey(scope string, ip netip.Addr) []throttleKey {
	k := sha256.Sum256([]byte("guess:" + scope + ":" + IPPrefix(ip)))
	return []throttleKey{{k[:], GuessLimit}}
}

// CheckGuesses returns a *LockedError when ip's network presented too many unknown tokens
// of scope (say "link") lately.
func (v *Vault) CheckGuesses(ctx context.Context, scope string, ip netip.Addr) error {
	return v.checkThrottle(ctx, guessKey(scope, ip))
}

// CountGuess counts one unknown token of scope presented from ip's network.
func (v *Vault) CountGuess(ctx context.Context, scope string, ip netip.Addr) error {
	return v.countFailure(ctx, guessKey(scope, ip))
}
