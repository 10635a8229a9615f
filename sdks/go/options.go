package ottavo

// optionsOf is the options a method was given, or the zero value (every field unset).
func optionsOf[T any](opts []T) T {
	var o T
	if len(opts) > 0 {
		o = opts[0]
	}
	return o
}
