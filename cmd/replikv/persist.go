package main

import (
	"fmt"
	"strings"

	"github.com/replikv/replikv/server"
)

// applyPersist applies dbfilename, save and full-sync-when-empty.
func (o *options) applyPersist(d directive) error {
	switch d.name {
	case "dbfilename":
		if len(d.args) != 1 || d.args[0] == "" || strings.ContainsAny(d.args[0], "/\\") {
			return fmt.Errorf("dbfilename: want a file name, got %q", strings.Join(d.args, " "))
		}
		o.store.DBFilename = d.args[0]
	case "save":
		// As Redis 7: save "" drops every save point; each other save
		// directive adds its pairs (one "<s> <c> ..." argument or several).
		v := strings.Join(d.args, " ")
		if strings.TrimSpace(v) == "" {
			o.store.SavePoints = nil
			return nil
		}
		ps, err := server.ParseSavePoints(v)
		if err != nil {
			return err
		}
		o.store.SavePoints = append(o.store.SavePoints, ps...)
	case "full-sync-when-empty":
		if len(d.args) != 1 || (d.args[0] != "yes" && d.args[0] != "no") {
			return fmt.Errorf("full-sync-when-empty: want yes or no")
		}
		o.store.ServeFullSyncWhenEmpty = d.args[0] == "yes"
	}
	return nil
}
