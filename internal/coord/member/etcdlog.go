package member

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// slogCore hands etcd's zap log entries to the daemon's slog logger, so that etcd's
// messages appear in hadron's log stream (component=etcd) instead of as JSON of their
// own. While the member is being closed its entries are dropped: etcd reports its own
// listeners closing as errors.
type slogCore struct {
	log     *slog.Logger
	level   zapcore.Level
	attrs   []slog.Attr
	closing *atomic.Bool
}

func newEtcdLogger(log *slog.Logger, level string, closing *atomic.Bool) *zap.Logger {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		lvl = zapcore.ErrorLevel
	}
	return zap.New(&slogCore{log: log.With("component", "etcd"), level: lvl, closing: closing})
}

func (c *slogCore) Enabled(l zapcore.Level) bool { return l >= c.level && !c.closing.Load() }

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	n := *c
	n.attrs = append(append([]slog.Attr(nil), c.attrs...), attrs(fields)...)
	return &n
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	level := slog.LevelInfo
	switch {
	case e.Level >= zapcore.ErrorLevel:
		level = slog.LevelError
	case e.Level == zapcore.WarnLevel:
		level = slog.LevelWarn
	case e.Level <= zapcore.DebugLevel:
		level = slog.LevelDebug
	}
	c.log.LogAttrs(context.Background(), level, e.Message, append(c.attrs, attrs(fields)...)...)
	return nil
}

func (c *slogCore) Sync() error { return nil }

func attrs(fields []zapcore.Field) []slog.Attr {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	out := make([]slog.Attr, 0, len(enc.Fields))
	for k, v := range enc.Fields {
		out = append(out, slog.Any(k, v))
	}
	return out
}
