// Says why the login came back: a token the daemon did not accept.
'use strict';
if (new URLSearchParams(location.search).has('denied')) {
  document.getElementById('denied').hidden = false;
}
