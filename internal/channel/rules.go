package channel

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ErrInvalidChannel is wrapped by every error of [Rules.Validate]; callers
// answer it with protocol error 107 (bad request).
var ErrInvalidChannel = errors.New("channel: invalid channel name")

// defaultMaxLength applies when [Config.MaxLength] is zero.
const defaultMaxLength = 255

// namespaceNameRe is the syntax of namespace (and proxy) names.
var namespaceNameRe = regexp.MustCompile(`^[-a-zA-Z0-9_.]{2,}$`)

// ValidName reports whether name is a valid namespace or proxy name.
func ValidName(name string) bool {
	return namespaceNameRe.MatchString(name)
}

// Rules are a validated, compiled [Config]. They never change after
// [NewRules], so any number of goroutines may use them at once.
type Rules struct {
	maxLength         int
	privatePrefix     string
	namespaceBoundary string
	userBoundary      string
	userSeparator     string

	top    Options
	byName map[string]*Options
}

// NewRules validates c and compiles its channel regexes.
func NewRules(c Config) (*Rules, error) {
	if c.MaxLength < 0 {
		return nil, fmt.Errorf("channel: max_length must not be negative, got %d",
			c.MaxLength)
	}
	if c.HistoryMetaTTL < 0 || c.HistoryMetaTTL%time.Second != 0 {
		return nil, fmt.Errorf("channel: history_meta_ttl must be whole seconds, got %s",
			c.HistoryMetaTTL)
	}
	r := &Rules{
		maxLength:         c.MaxLength,
		privatePrefix:     c.PrivatePrefix,
		namespaceBoundary: c.NamespaceBoundary,
		userBoundary:      c.UserBoundary,
		userSeparator:     c.UserSeparator,
		top:               c.WithoutNamespace,
		byName:            make(map[string]*Options, len(c.Namespaces)),
	}
	if r.maxLength == 0 {
		r.maxLength = defaultMaxLength
	}
	if err := compile(&r.top, c.HistoryMetaTTL); err != nil {
		return nil, fmt.Errorf("channel: without_namespace: %w", err)
	}
	for _, ns := range c.Namespaces {
		if !ValidName(ns.Name) {
			return nil, fmt.Errorf("channel: invalid namespace name %q (must match %s)",
				ns.Name, namespaceNameRe)
		}
		if _, dup := r.byName[ns.Name]; dup {
			return nil, fmt.Errorf("channel: namespace name %q is not unique", ns.Name)
		}
		o := ns.Options
		o.AllowedDeltaTypes = slices.Clone(o.AllowedDeltaTypes)
		if err := compile(&o, c.HistoryMetaTTL); err != nil {
			return nil, fmt.Errorf("channel: namespace %q: %w", ns.Name, err)
		}
		r.byName[ns.Name] = &o
	}
	r.top.AllowedDeltaTypes = slices.Clone(r.top.AllowedDeltaTypes)
	return r, nil
}

// compile validates o (the rules of config.md §4.4) and compiles its regex.
// globalMetaTTL is the meta TTL that applies when o has none of its own.
func compile(o *Options, globalMetaTTL time.Duration) error {
	if err := checkHistory(o, globalMetaTTL); err != nil {
		return err
	}
	switch o.ForceRecoveryMode {
	case "", RecoveryModeStream, RecoveryModeCache:
	default:
		return fmt.Errorf("unknown force_recovery_mode %q (want stream or cache)",
			o.ForceRecoveryMode)
	}
	switch o.PublicationDataFormat {
	case "", "json", "json_object", "binary":
	default:
		return fmt.Errorf("unknown publication_data_format %q", o.PublicationDataFormat)
	}
	for _, dt := range o.AllowedDeltaTypes {
		if dt != "fossil" {
			return fmt.Errorf("unknown allowed delta type %q", dt)
		}
	}
	if o.SubscribeStreamProxyEnabled &&
		(o.SubscribeProxyEnabled || o.PublishProxyEnabled || o.SubRefreshProxyEnabled) {
		return errors.New("subscribe stream proxy can't be combined with " +
			"subscribe, publish or sub refresh proxies")
	}
	o.regex = nil
	if o.ChannelRegex != "" {
		re, err := regexp.Compile(o.ChannelRegex)
		if err != nil {
			return fmt.Errorf("invalid channel_regex: %w", err)
		}
		o.regex = re
	}
	return nil
}

func checkHistory(o *Options, globalMetaTTL time.Duration) error {
	if o.HistorySize < 0 {
		return fmt.Errorf("history_size must not be negative, got %d", o.HistorySize)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"history_ttl", o.HistoryTTL}, {"history_meta_ttl", o.HistoryMetaTTL}} {
		if d.v < 0 || d.v%time.Second != 0 {
			return fmt.Errorf("%s must be whole seconds, got %s", d.key, d.v)
		}
	}
	if (o.HistorySize > 0) != (o.HistoryTTL > 0) {
		return errors.New("both history size and history ttl required for history")
	}
	if o.ForceRecovery && !o.HistoryEnabled() {
		return errors.New("both history size and history ttl required for recovery")
	}
	metaTTL := globalMetaTTL
	if o.HistoryMetaTTL > 0 {
		metaTTL = o.HistoryMetaTTL
	}
	if metaTTL > 0 && o.HistoryTTL > metaTTL {
		return fmt.Errorf("history ttl (%s) can not be greater than history meta ttl (%s)",
			o.HistoryTTL, metaTTL)
	}
	return nil
}

// Options returns the options of the namespace ch belongs to: the text
// before the first namespace boundary, after a leading private prefix is
// removed. A channel without a boundary uses the options without namespace.
// It returns false when the namespace is not configured (protocol error 102,
// unknown channel). The result is shared: callers must not modify it.
func (r *Rules) Options(ch string) (*Options, bool) {
	ns, _ := r.split(ch)
	if ns == "" {
		return &r.top, true
	}
	o, ok := r.byName[ns]
	return o, ok
}

// Validate checks the syntax every channel name must have: not empty, at
// most the configured length, ASCII only. Errors wrap [ErrInvalidChannel].
func (r *Rules) Validate(ch string) error {
	if ch == "" {
		return fmt.Errorf("%w: empty", ErrInvalidChannel)
	}
	if len(ch) > r.maxLength {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidChannel, r.maxLength)
	}
	for i := 0; i < len(ch); i++ {
		if ch[i] >= 0x80 {
			return fmt.Errorf("%w: not ASCII", ErrInvalidChannel)
		}
	}
	return nil
}

// IsPrivate reports whether ch starts with the private prefix, so that
// subscribing needs a subscription token.
func (r *Rules) IsPrivate(ch string) bool {
	return r.privatePrefix != "" && strings.HasPrefix(ch, r.privatePrefix)
}

// IsUserLimited reports whether ch contains the user boundary.
func (r *Rules) IsUserLimited(ch string) bool {
	return r.userBoundary != "" && strings.Contains(ch, r.userBoundary)
}

// UserAllowed reports whether user is listed after the last user boundary
// of ch ("dialog#42,43" allows "42" and "43"). An anonymous user (empty ID)
// is never allowed, even for a channel ending with the boundary.
func (r *Rules) UserAllowed(ch, user string) bool {
	if user == "" || r.userBoundary == "" {
		return false
	}
	i := strings.LastIndex(ch, r.userBoundary)
	if i < 0 {
		return false
	}
	list := ch[i+len(r.userBoundary):]
	if r.userSeparator == "" {
		return list == user
	}
	for allowed := range strings.SplitSeq(list, r.userSeparator) {
		if allowed == user {
			return true
		}
	}
	return false
}

// CheckRegex reports whether the part of ch after the namespace (after the
// first namespace boundary, or the whole name without the private prefix
// when there is no namespace) matches o's channel_regex. Options without a
// regex accept every channel; an uncompilable regex accepts none.
func (r *Rules) CheckRegex(ch string, o *Options) bool {
	if o.ChannelRegex == "" {
		return true
	}
	re := o.regex
	if re == nil {
		var err error
		if re, err = regexp.Compile(o.ChannelRegex); err != nil {
			return false
		}
	}
	_, rest := r.split(ch)
	return re.MatchString(rest)
}

// PersonalChannel returns the personal channel of user: "#42" without a
// namespace, "ns:#42" with one.
func (r *Rules) PersonalChannel(ns, user string) string {
	if ns == "" {
		return r.userBoundary + user
	}
	return ns + r.namespaceBoundary + r.userBoundary + user
}

// split strips the private prefix from ch and cuts it at the first
// namespace boundary into the namespace and the rest. Without a boundary
// the namespace is empty and rest is the whole unprefixed name.
func (r *Rules) split(ch string) (ns, rest string) {
	if r.privatePrefix != "" {
		ch = strings.TrimPrefix(ch, r.privatePrefix)
	}
	if r.namespaceBoundary == "" {
		return "", ch
	}
	ns, rest, found := strings.Cut(ch, r.namespaceBoundary)
	if !found {
		return "", ch
	}
	return ns, rest
}
