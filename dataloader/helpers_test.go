package dataloader_test

import "context"

// echoFetch is a batch function that returns each key as its value.
func echoFetch(_ context.Context, keys []int) ([]int, []error, error) {
	out := make([]int, len(keys))
	copy(out, keys)
	return out, nil, nil
}
