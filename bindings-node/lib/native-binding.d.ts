import * as native from "../native/native.js";
declare const binding: typeof native;
export default binding;
