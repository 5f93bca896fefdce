package api

import "net/http"

// ExportHandler and ExportMux give the fuzz test the server's handler without a socket.
func ExportHandler(s *Server) http.Handler { return s.srv.Handler }
func ExportMux(s *Server) *http.ServeMux   { return s.srv.Handler.(*http.ServeMux) }
