package sql

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/sirupsen/logrus"
)

// go-mysql-server logs through logrus; lakesql logs through log/slog.
// bridgeLogrus sends logrus entries to the provider's logger (go-mysql-
// server's per-connection chatter at debug level), once per process.
var bridgeOnce sync.Once

func bridgeLogrus(l *slog.Logger) {
	bridgeOnce.Do(func() {
		lg := logrus.StandardLogger()
		lg.SetOutput(io.Discard)
		lg.SetLevel(logrus.InfoLevel)
		lg.AddHook(&slogHook{l: l})
	})
}

type slogHook struct{ l *slog.Logger }

func (h *slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h *slogHook) Fire(e *logrus.Entry) error {
	level := slog.LevelDebug
	switch {
	case e.Level <= logrus.ErrorLevel:
		level = slog.LevelError
	case e.Level == logrus.WarnLevel:
		// go-mysql-server warns about secure_file_priv on every start.
		level = slog.LevelDebug
	}
	if !h.l.Enabled(context.Background(), level) {
		return nil
	}
	attrs := make([]any, 0, 2*len(e.Data))
	for k, v := range e.Data {
		attrs = append(attrs, k, v)
	}
	h.l.Log(context.Background(), level, "go-mysql-server: "+e.Message, attrs...)
	return nil
}
