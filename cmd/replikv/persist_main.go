package main

import (
	"context"
	"time"

	"github.com/replikv/replikv"
)

// shutdownFunc returns the server's SHUTDOWN: it saves when asked (SAVE),
// or by default when save points are set (NOSAVE never), as redis-server;
// a failed save keeps the server up. Then it closes the store and tells
// serve to stop.
func shutdownFunc(store *replikv.Store, savePoints bool, done chan<- struct{}) func(save, nosave bool) error {
	return func(save, nosave bool) error {
		if save || (savePoints && !nosave) {
			if err := store.ShutdownSave(context.Background()); err != nil {
				return err
			}
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			store.Shutdown(ctx)
			cancel()
		}
		select {
		case done <- struct{}{}:
		default:
		}
		return nil
	}
}
