package api

import (
	"context"
	"net/http"
	"sync"

	"github.com/heraldhq/herald/internal/protocol"
)

// batchConcurrency caps the commands of a parallel batch in flight.
const batchConcurrency = 1024

// batchCommand is one element of a batch.
type batchCommand struct {
	m   *method // nil: no method key (104), or a null element (107)
	req request
	// null marks a JSON null element.
	null bool
}

// batchReply is the outcome of one batch command.
type batchReply struct {
	m   *method
	res result
	err *protocol.Error
}

// serveBatch serves POST prefix/batch: {"commands": [{"publish": {...}},
// ...], "parallel": bool} answered by {"replies": [...]} in command order.
// Each command answers for itself; transport error mode does not apply.
func (h *Handler) serveBatch(w http.ResponseWriter, r *http.Request, body []byte,
	out *[]byte) {
	var cmds []batchCommand
	parallel := false
	d := decoder{b: body}
	err := d.object(func(key []byte) (err error) {
		switch string(key) {
		case "commands":
			err = d.array(func() error {
				c, err := d.batchCommand()
				cmds = append(cmds, c)
				return err
			})
		case "parallel":
			parallel, err = d.boolean()
		default:
			err = d.skip()
		}
		return err
	})
	if err == nil && d.more() {
		err = errTrailing
	}
	if err != nil {
		h.badBody(w, r, err)
		return
	}

	replies := h.runBatch(context.WithoutCancel(r.Context()), cmds, parallel)
	b := append(*out, `{"replies":[`...)
	for i, rep := range replies {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		if rep.err != nil {
			b = appendError(appendKey(b, "error"), rep.err)
		} else {
			b = rep.res.appendJSON(appendKey(b, rep.m.name))
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	*out = b
	writeJSON(w, http.StatusOK, b)
}

// batchCommand decodes one element of commands. When it names several
// methods, the first in [methods] order runs; a method key with a null
// value counts as absent.
func (d *decoder) batchCommand() (batchCommand, error) {
	if d.null() {
		return batchCommand{null: true}, nil
	}
	var c batchCommand
	err := d.object(func(key []byte) error {
		m := methodsByName[string(key)]
		if m == nil {
			return d.skip()
		}
		if d.null() {
			return nil
		}
		req := m.new()
		if err := decodeRequest(d, req); err != nil {
			return err
		}
		if c.m == nil || m.order < c.m.order {
			c.m, c.req = m, req
		}
		return nil
	})
	return c, err
}

// runBatch runs cmds in order, or concurrently when parallel.
func (h *Handler) runBatch(ctx context.Context, cmds []batchCommand,
	parallel bool) []batchReply {
	replies := make([]batchReply, len(cmds))
	if !parallel || len(cmds) < 2 {
		for i, c := range cmds {
			replies[i] = h.runBatchCommand(ctx, c)
		}
		return replies
	}
	sem := make(chan struct{}, min(len(cmds), batchConcurrency))
	var wg sync.WaitGroup
	for i, c := range cmds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			replies[i] = h.runBatchCommand(ctx, c)
		})
	}
	wg.Wait()
	return replies
}

func (h *Handler) runBatchCommand(ctx context.Context, c batchCommand) batchReply {
	switch {
	case c.null:
		return batchReply{err: h.reject("batch", errBadRequest, "command is null")}
	case c.m == nil:
		return batchReply{err: h.reject("batch", errNotFound,
			"command names no known method")}
	}
	res, e := h.call(ctx, c.m, c.req)
	return batchReply{m: c.m, res: res, err: e}
}
